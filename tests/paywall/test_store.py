"""The paywall's database: the requests are the ledger, revenue counts forgotten channels too, and
a sequence number is refused once used, or once too far below the highest used, also after a restart;
and one paywall at a time holds the file."""

import sqlite3

import pytest

from streamium_paywall.store import SEQ_WINDOW, Store


async def charged(store, k2, seq, sat):
    await store.claim(k2, seq, "", "f", 1)
    await store.finish(k2, seq, 200, sat, 1)


async def test_the_requests_are_the_ledger_and_revenue_keeps_what_forgotten_channels_earned(tmp_path):
    store = Store(str(tmp_path / "db.sqlite3"))
    for k2 in ("a", "b"):
        await store.put_channel(k2, {"spent": 0}, 1)
    await charged(store, "a", 1, 30)
    await charged(store, "a", 2, 20)
    await charged(store, "b", 1, 7)
    assert {k2: record["spent"] for k2, record, _, _ in store.channels()} == {"a": 50, "b": 7}
    await store.forget_channel("a")
    assert store.revenue == 57 and [k2 for k2, *_ in store.channels()] == ["b"]
    await store.close()


async def test_used_sequence_numbers_stay_used_across_a_restart(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    store = Store(path)
    for seq in (5, 9, SEQ_WINDOW + 20):
        assert not store.used("k2", seq)
        await store.claim("k2", seq, "", "f", 1)
    assert store.used("k2", 9) and not store.used("k2", 30) and store.used("k2", 19)  # 19: too old now
    await store.close()
    again = Store(path)
    assert again.used("k2", SEQ_WINDOW + 20) and again.used("k2", 9) and not again.used("k2", SEQ_WINDOW + 21)
    await again.close()


async def test_one_paywall_at_a_time_on_a_database(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    store = Store(path)
    with pytest.raises(sqlite3.OperationalError, match="in use by another paywall"):
        Store(path)
    await store.close()
    await Store(path).close()
