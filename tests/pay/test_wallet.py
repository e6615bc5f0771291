"""The wallet file: atomic, private, one process at a time, written off the event loop when the
caller waits for it, sequence numbers never reused across a reload, and the first identity key
seen for an origin pinned."""

import asyncio
import json
import os
import stat
import threading

import pytest

from app.channel import Viewer, build_link
from app.channel.signatures import private_key
from streamium_pay import BadAnswer, Wallet, WalletError, file_writer
from streamium_pay.wallet import SEQ_BLOCK
from tests.channel.full_channel import channel_terms, key_secret
from app.channel.offer import Offer

ORIGIN = "https://api.example"


def accepted_record(wallet, seed="w"):
    """A viewer record as `accept` stores it: an offer received, K1 inside."""
    identity = key_secret(seed, "identity")
    identity_pubkey = private_key(identity).sec().hex()
    offer = Offer(channel_terms(), private_key(key_secret(seed, "k2")).sec().hex(), identity_pubkey)
    v = Viewer.new(build_link(ORIGIN, "api", identity_pubkey), "regtest", key_secret(seed, "k1"), metered=True)
    v.receive(offer.message(identity), 0)
    persist, _show = v.accept(20_000, wallet.address, 0)
    return persist.record


def test_a_new_wallet_is_private_and_holds_one_key(tmp_path):
    path = tmp_path / "sub" / "wallet.json"
    wallet = Wallet.open(path, "regtest")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert wallet.address.startswith("bcrt1q")
    assert json.loads(path.read_text())["secret"] == wallet.key.secret.hex()
    wallet.close()
    assert Wallet.open(path, "regtest").address == wallet.address


def test_a_write_cut_short_leaves_the_old_file_whole(tmp_path, monkeypatch):
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")
    before = (tmp_path / "wallet.json").read_bytes()

    def crash(*args):
        raise OSError("disk gone")
    monkeypatch.setattr(os, "replace", crash)
    wallet.servers[ORIGIN] = "02" + "11" * 32
    with pytest.raises(WalletError, match="disk gone"):
        wallet.save()
    assert (tmp_path / "wallet.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wallet.json", "wallet.json.lock"], "no temporary left"


async def test_queued_saves_do_not_wait_and_written_waits_for_the_newest(tmp_path, monkeypatch):
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")
    gate, contents, write = threading.Event(), [], file_writer.write_atomically

    def stuck(path, data):
        gate.wait(30)
        contents.append(json.loads(data)["servers"])
        write(path, data)
    monkeypatch.setattr(file_writer, "write_atomically", stuck)
    with wallet.queued():
        for n in range(3):
            wallet.servers[ORIGIN] = f"key {n}"
            wallet.save()  # returns at once: the disk is stuck
    written = asyncio.ensure_future(wallet.written())
    await asyncio.sleep(0.1)
    assert not written.done()
    gate.set()
    await written
    assert json.loads((tmp_path / "wallet.json").read_text())["servers"] == {ORIGIN: "key 2"}
    assert contents[-1] == {ORIGIN: "key 2"} and len(contents) <= 2, "a snapshot queued behind another replaces it"
    wallet.close()


async def test_a_queued_save_that_fails_is_raised_by_written(tmp_path, monkeypatch):
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")

    def crash(*args):
        raise OSError("disk gone")
    monkeypatch.setattr(file_writer, "write_atomically", crash)
    with wallet.queued():
        wallet.save()
    with pytest.raises(WalletError, match="disk gone"):
        await wallet.written()
    wallet.close()


def test_a_closed_wallet_refuses_to_save_instead_of_waiting_forever(tmp_path):
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")
    wallet.close()
    for _ in range(2):
        with pytest.raises(WalletError, match="is closed"):
            wallet.save()


def test_one_process_at_a_time(tmp_path):
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")
    with pytest.raises(WalletError, match="in use by another pay.py"):
        Wallet.open(tmp_path / "wallet.json", "regtest")
    wallet.close()
    Wallet.open(tmp_path / "wallet.json", "regtest").close()


def test_a_wallet_of_another_network_is_refused(tmp_path):
    Wallet.open(tmp_path / "wallet.json", "regtest").close()
    with pytest.raises(WalletError, match="regtest wallet, not signet"):
        Wallet.open(tmp_path / "wallet.json", "signet")


def test_sequence_numbers_are_never_reused_across_a_reload(tmp_path):
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")
    entry = wallet.add_channel(ORIGIN, "/.well-known/streamium/channels", accepted_record(wallet), {})
    used = [wallet.next_seq(entry) for _ in range(5)]
    assert used == [0, 1, 2, 3, 4]
    wallet.close()  # a crash: the five were used, only the reservation was stored
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")
    entry, = wallet.channels.values()
    assert wallet.next_seq(entry) == SEQ_BLOCK
    assert entry.viewer.key.secret == key_secret("w", "k1"), "K1 lives in the file"


def test_a_server_under_another_identity_key_is_refused(tmp_path):
    wallet = Wallet.open(tmp_path / "wallet.json", "regtest")
    record = accepted_record(wallet)
    wallet.add_channel(ORIGIN, "/.well-known/streamium/channels", record, {})
    wallet.check_identity(ORIGIN, record["link"]["identity_pubkey"])
    wallet.check_identity("https://other.example", "02" + "22" * 32)
    with pytest.raises(BadAnswer, match="now presents the identity key"):
        wallet.check_identity(ORIGIN, "02" + "22" * 32)
    with pytest.raises(BadAnswer):
        wallet.add_channel(ORIGIN, "/.well-known/streamium/channels", accepted_record(wallet, "other"), {})
