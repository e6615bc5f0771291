"""Each mempool rule, broken by exactly one transaction: POST /tx answers 400
with a reason and leaves chain and mempool as they were."""

import random

import pytest
from embit.script import Witness

from streamium_server.devnet.wallet import Prevout

pytestmark = pytest.mark.asyncio

ELSEWHERE = bytes.fromhex("0014" + "22" * 20)


async def refused(api, payload, reason: str) -> str:
    before = [await (await api.get(p)).text() for p in ("/api/blocks/tip/hash", "/api/mempool")]
    data = payload if isinstance(payload, (str, bytes)) else payload.serialize().hex()
    resp = await api.post("/api/tx", data=data)
    body = await resp.text()
    assert resp.status == 400 and resp.content_type == "text/plain", body
    assert reason in body
    assert [await (await api.get(p)).text() for p in ("/api/blocks/tip/hash", "/api/mempool")] == before
    return body


async def accepted(api, tx) -> None:
    resp = await api.post("/api/tx", data=tx.serialize().hex())
    assert resp.status == 200, await resp.text()


async def test_bad_signature_is_refused_by_kernel_script_check(api, fund):
    key, prev = await fund()
    tx = key.spend([Prevout(prev.txid, prev.vout, prev.value + 1)], [(ELSEWHERE, prev.value - 500)])
    await refused(api, tx, "input 0: script verification failed")


async def test_missing_witness_is_refused(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)])
    tx.vin[0].witness = Witness([])
    await refused(api, tx, "mandatory-script-verify-flag-failed")


async def test_double_spend_of_mempool_tx_is_refused(api, fund):
    key, prev = await fund()
    await accepted(api, key.spend([prev], [(ELSEWHERE, prev.value - 500)]))
    await refused(api, key.spend([prev], [(ELSEWHERE, prev.value - 900)]), "txn-mempool-conflict")


async def test_double_spend_of_confirmed_spend_is_refused(api, fund):
    key, prev = await fund()
    await accepted(api, key.spend([prev], [(ELSEWHERE, prev.value - 500)]))
    await api.post("/api/devnet/mine", json={})
    body = await refused(api, key.spend([prev], [(ELSEWHERE, prev.value - 900)]), "bad-txns-inputs-missingorspent")
    assert "already spent in the chain" in body


async def test_unknown_input_is_refused(api, fund):
    key, prev = await fund()
    tx = key.spend([Prevout("33" * 32, 0, prev.value)], [(ELSEWHERE, prev.value - 500)])
    await refused(api, tx, "does not exist")


async def test_immature_coinbase_spend_is_refused(api, devnet):
    faucet, tip = devnet.faucet, devnet.chain.block(devnet.chain.height)
    prev = Prevout(tip.txs[0].txid().hex(), 0, tip.txs[0].vout[0].value)
    await refused(api, faucet.spend([prev], [(ELSEWHERE, prev.value - 500)]), "premature-spend-of-coinbase")


async def test_overspend_is_refused(api, fund):
    key, prev = await fund()
    await refused(api, key.spend([prev], [(ELSEWHERE, prev.value + 1)]), "bad-txns-in-belowout")


async def test_fee_below_one_sat_per_vbyte_is_refused(api, fund):
    key, prev = await fund()
    await refused(api, key.spend([prev], [(ELSEWHERE, prev.value - 100)]), "min relay fee not met")


async def test_time_locktime_waits_for_median_time_past(api, devnet, fund):
    key, prev = await fund()
    locktime = devnet.chain.median_time_past() + 900
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)], locktime=locktime)
    body = await refused(api, tx, f"non-final: nLockTime {locktime} not reached (median time past")
    assert str(devnet.chain.median_time_past()) in body
    mined = await (await api.post("/api/devnet/mine", json={"blocks": 11, "advance_s": 1800})).json()
    assert mined["time_offset"] == 1800
    await accepted(api, tx)


async def test_height_locktime_waits_for_next_block_height(api, devnet, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)], locktime=devnet.chain.height + 3)
    await refused(api, tx, "non-final: nLockTime")
    await api.post("/api/devnet/mine", json={"blocks": 2})
    await refused(api, tx, "non-final: nLockTime")  # next block's height equals nLockTime
    await api.post("/api/devnet/mine", json={"blocks": 1})
    await accepted(api, tx)


async def test_relative_height_lock_waits_for_coin_depth(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)], sequence=5)
    await refused(api, tx, "non-BIP68-final")
    await api.post("/api/devnet/mine", json={"blocks": 4})
    await accepted(api, tx)


@pytest.mark.parametrize("body, reason", [
    ("zz", "must be the transaction as hex"),
    ("", "TX decode failed"),
    ("0200000001", "TX decode failed"),
    ("ff" * 100, "TX decode failed"),
    ("00" * 600_000, "body too large"),
])
async def test_garbage_and_oversized_bodies_are_refused(api, body, reason):
    await refused(api, body, reason)


async def test_tx_over_100_kvb_is_refused(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(b"\x6a" + b"\x00" * 9000, 0)] * 12 + [(ELSEWHERE, prev.value - 200_000)])
    await refused(api, tx, "tx-size")


async def test_truncated_tx_is_refused(api, fund):
    key, prev = await fund()
    raw = key.spend([prev], [(ELSEWHERE, prev.value - 500)]).serialize().hex()
    await refused(api, raw[:-2], "TX decode failed")


async def test_random_bytes_and_paths_never_cause_a_server_error(api):
    rng = random.Random(7)
    for _ in range(200):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        resp = await api.post("/api/tx", data=blob.hex())
        assert resp.status == 400, await resp.text()
        resp = await api.post("/api/devnet/mine", data=blob)
        assert resp.status == 400
    for path in ("/api/address/" + "b" * 5000, "/api/tx/" + "A" * 64, "/api/block-height/99999999999",
                 "/api/tx/" + "a" * 64 + "/outspend/4294967296", "/api/address/%00"):
        assert (await api.get(path)).status in (400, 404)
