"""Each mempool rule, broken by exactly one transaction: POST /tx answers 400
with Bitcoin Core's reason in electrs' words and leaves chain and mempool as they were."""

import json
import random

import pytest
from embit.script import Witness

from streamium_server.devnet.wallet import Prevout

pytestmark = pytest.mark.asyncio

ELSEWHERE = bytes.fromhex("0014" + "22" * 20)
RPC_ERROR = "sendrawtransaction RPC error: "


def rpc_error(body: str) -> tuple[int, str]:
    """(code, message) of electrs' `sendrawtransaction RPC error: {"code":..,"message":..}`."""
    assert body.startswith(RPC_ERROR), body
    error = json.loads(body[len(RPC_ERROR):])
    assert list(error) == ["code", "message"], body
    return error["code"], error["message"]


async def refused(api, payload, reason: str, code: int = -26) -> str:
    """POST /tx must refuse `payload` with `reason` in the message; returns the message."""
    before = [await (await api.get(p)).text() for p in ("/api/blocks/tip/hash", "/api/mempool")]
    data = payload if isinstance(payload, (str, bytes)) else payload.serialize().hex()
    resp = await api.post("/api/tx", data=data)
    body = await resp.text()
    assert resp.status == 400 and resp.content_type == "text/plain", body
    got_code, message = rpc_error(body)
    assert reason in message and got_code == code, body
    assert [await (await api.get(p)).text() for p in ("/api/blocks/tip/hash", "/api/mempool")] == before
    return message


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


async def test_double_spend_of_confirmed_spend_is_refused(api, fund):
    key, prev = await fund()
    await accepted(api, key.spend([prev], [(ELSEWHERE, prev.value - 500)]))
    await api.post("/api/devnet/mine", json={})
    message = await refused(api, key.spend([prev], [(ELSEWHERE, prev.value - 900)]),
                            "bad-txns-inputs-missingorspent", code=-25)
    assert "already spent in the chain" in message


async def test_unknown_input_is_refused(api, fund):
    key, prev = await fund()
    tx = key.spend([Prevout("33" * 32, 0, prev.value)], [(ELSEWHERE, prev.value - 500)])
    await refused(api, tx, "bad-txns-inputs-missingorspent, input 0 spends", code=-25)


async def test_immature_coinbase_spend_is_refused(api, devnet):
    faucet, tip = devnet.faucet, devnet.chain.block(devnet.chain.height)
    prev = Prevout(tip.txs[0].txid().hex(), 0, tip.txs[0].vout[0].value)
    await refused(api, faucet.spend([prev], [(ELSEWHERE, prev.value - 500)]),
                  "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 1")


async def test_overspend_is_refused(api, fund):
    key, prev = await fund()
    await refused(api, key.spend([prev], [(ELSEWHERE, prev.value + 1)]),
                  "bad-txns-in-belowout, value in (1.00) < value out (1.00000001)")


async def test_fee_below_one_sat_per_vbyte_is_refused(api, fund):
    key, prev = await fund()
    await refused(api, key.spend([prev], [(ELSEWHERE, prev.value - 100)]), "min relay fee not met, 100 < 110")


async def test_time_locktime_waits_for_median_time_past(api, devnet, fund):
    key, prev = await fund()
    locktime = devnet.chain.median_time_past() + 900
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)], locktime=locktime)
    body = await refused(api, tx, f"non-final, nLockTime {locktime} not reached (median time past")
    assert str(devnet.chain.median_time_past()) in body
    mined = await (await api.post("/api/devnet/mine", json={"blocks": 11, "advance_s": 1800})).json()
    assert mined["time_offset"] == 1800
    await accepted(api, tx)


async def test_height_locktime_waits_for_next_block_height(api, devnet, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)], locktime=devnet.chain.height + 3)
    await refused(api, tx, "non-final, nLockTime")
    await api.post("/api/devnet/mine", json={"blocks": 2})
    await refused(api, tx, "non-final, nLockTime")  # next block's height equals nLockTime
    await api.post("/api/devnet/mine", json={"blocks": 1})
    await accepted(api, tx)


async def test_relative_height_lock_waits_for_coin_depth(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)], sequence=5)
    await refused(api, tx, "non-BIP68-final")
    await api.post("/api/devnet/mine", json={"blocks": 4})
    await accepted(api, tx)


@pytest.mark.parametrize("body", ["zz", "", "0200000001", "ff" * 100, "00 11", "0a\n", "0\n", "abcd\n", " 00"])
async def test_garbage_bodies_are_refused_as_undecodable(api, body):
    await refused(api, body, "TX decode failed. Make sure the tx has at least one input.", code=-22)


async def test_oversized_body_is_refused_before_it_is_read_whole(api):
    resp = await api.post("/api/tx", data="00" * 600_000)
    assert resp.status == 400 and "body too large" in await resp.text()


async def test_tx_over_100_kvb_is_refused(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(b"\x6a" + b"\x00" * 9000, 0)] * 12 + [(ELSEWHERE, prev.value - 200_000)])
    await refused(api, tx, "tx-size")


async def test_truncated_tx_is_refused(api, fund):
    key, prev = await fund()
    raw = key.spend([prev], [(ELSEWHERE, prev.value - 500)]).serialize().hex()
    await refused(api, raw[:-2], "TX decode failed", code=-22)


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
    for path in ("/api/tx/" + "a" * 63 + "%0A", "/api/scripthash/" + "a" * 63 + "%0A", "/api/block-height/5%0A",
                 "/api/broadcast?tx=0%0A", "/api/block/" + "a" * 63 + "%0A/txs"):
        resp = await api.get(path)
        assert resp.status == 400, (path, resp.status, await resp.text())  # a newline is not hex nor digits
    resp = await api.get("/api/blocks/5%0A")
    assert resp.status == 200 and (await resp.json())[0]["height"] == 110  # electrs: unparsable means the tip


# ---- Core 28's standardness, with its reasons -----------------------------------------

@pytest.mark.parametrize("outputs, reason", [
    ([(ELSEWHERE, 293)], "dust"),  # P2WPKH dust is 294 sat at 3 sat/vB
    ([(bytes.fromhex("76a914" + "22" * 20 + "88ac"), 545)], "dust"),  # P2PKH: 546
    ([(b"\x51", 10_000)], "scriptpubkey"),  # bare OP_TRUE is not a standard output
    ([(b"\x6a\x4c\x51" + b"\x00" * 81, 0), (ELSEWHERE, 10_000)], "scriptpubkey"),  # OP_RETURN over 83 bytes
    ([(b"\x6a\x01\x01", 0), (b"\x6a\x01\x02", 0), (ELSEWHERE, 10_000)], "multi-op-return"),
    ([(b"\x6a", 0)], "tx-size-small"),  # 61 bytes without the witness: under Core's 65
])
async def test_non_standard_outputs_are_refused(api, fund, outputs, reason):
    key, prev = await fund()
    rest = prev.value - 1000 - sum(v for _, v in outputs)
    tx = key.spend([prev], outputs if reason == "tx-size-small" else outputs + [(key.script_pubkey, rest)])
    assert await refused(api, tx, reason) == reason


async def test_a_payment_exactly_at_the_dust_threshold_is_standard(api, fund):
    key, prev = await fund()
    await accepted(api, key.spend([prev], [(ELSEWHERE, 294), (key.script_pubkey, prev.value - 294 - 500)]))


@pytest.mark.parametrize("version, message", [
    (1, None), (3, "version, TRUC (version 3) rules are not modelled on the devnet"), (4, "version")])
async def test_transaction_versions_above_two_are_refused(api, fund, version, message):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)], version=version)
    if message is None:
        await accepted(api, tx)
    else:
        assert await refused(api, tx, "version") == message


async def test_a_fee_over_sendrawtransactions_maxfeerate_is_refused(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 1_200_000)])  # 10,909 sat/vB, over 0.10 BTC/kvB
    await refused(api, tx, "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)", code=-25)
    await accepted(api, key.spend([prev], [(ELSEWHERE, prev.value - 1_000_000)]))


async def test_an_output_with_an_undefined_opcode_is_a_burn_too(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(b"\x51\xba", 1000), (ELSEWHERE, prev.value - 1500)])  # OP_CHECKSIGADD > MAX_OPCODE
    await refused(api, tx, "Unspendable output exceeds maximum configured by user (maxburnamount)", code=-25)


async def test_a_pubkey_output_pushed_with_pushdata1_is_not_standard(api, fund):
    key, prev = await fund()
    pushdata_p2pk = b"\x4c\x21" + key.public.sec() + b"\xac"
    assert await refused(api, key.spend([prev], [(pushdata_p2pk, 10_000), (ELSEWHERE, prev.value - 10_500)]),
                         "scriptpubkey") == "scriptpubkey"
    await accepted(api, key.spend([prev], [(b"\x21" + key.public.sec() + b"\xac", 10_000),
                                           (ELSEWHERE, prev.value - 10_500)]))


async def test_burning_coins_in_an_op_return_is_refused(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(b"\x6a\x01\x01", 1), (ELSEWHERE, prev.value - 501)])
    await refused(api, tx, "Unspendable output exceeds maximum configured by user (maxburnamount)", code=-25)


async def test_a_transaction_already_in_the_mempool_is_accepted_again(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)])
    await accepted(api, tx)
    resp = await api.post("/api/tx", data=tx.serialize().hex())
    assert resp.status == 200 and await resp.text() == tx.txid().hex()
    assert (await (await api.get("/api/mempool")).json())["count"] == 1


async def test_a_confirmed_transaction_is_refused_as_already_in_the_utxo_set(api, fund):
    key, prev = await fund()
    tx = key.spend([prev], [(ELSEWHERE, prev.value - 500)])
    await accepted(api, tx)
    await api.post("/api/devnet/mine", json={})
    await refused(api, tx, "Transaction outputs already in utxo set", code=-27)
