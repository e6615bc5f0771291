import asyncio

import pytest
from aiohttp import web
from embit.script import Witness
from embit.transaction import Transaction

from streamium_server.devnet import make_devnet_app

pytestmark = pytest.mark.asyncio

MAINNET_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def bip141_weight(tx) -> int:
    """Three times the size without witnesses plus the whole size, counted here from the bytes."""
    stripped = Transaction.parse(tx.serialize())
    for inp in stripped.vin:
        inp.witness = Witness([])
    return 3 * len(stripped.serialize()) + len(tx.serialize())
STATS = {"funded_txo_count", "funded_txo_sum", "spent_txo_count", "spent_txo_sum", "tx_count"}


async def text(resp, status=200, content_type="text/plain"):
    assert resp.status == status, await resp.text()
    assert resp.content_type == content_type
    return await resp.text()


async def json(resp, status=200):
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


async def test_tip_height_and_hash_are_plain_text(api, devnet):
    assert await text(await api.get("/api/blocks/tip/height")) == "110"
    assert await text(await api.get("/api/blocks/tip/hash")) == devnet.chain.tip_hash


async def test_block_height_gives_hash_or_404_or_400(api, devnet):
    assert await text(await api.get("/api/block-height/0")) == devnet.chain.block_hash(0)
    assert await text(await api.get("/api/block-height/111"), 404) == "Block not found"
    await text(await api.get("/api/block-height/-1"), 400)
    await text(await api.get("/api/block-height/abc"), 400)


async def test_block_by_hash_has_esplora_shape_and_the_median_time_past(api, devnet):
    tip = devnet.chain.tip_hash
    block = await json(await api.get(f"/api/block/{tip}"))
    assert set(block) == {"id", "height", "version", "timestamp", "tx_count", "size", "weight",
                          "merkle_root", "previousblockhash", "mediantime", "nonce", "bits", "difficulty"}
    assert block["id"] == tip and block["height"] == devnet.chain.height
    assert block["mediantime"] == devnet.chain.median_time_past()
    assert block["previousblockhash"] == devnet.chain.block_hash(devnet.chain.height - 1)
    assert block["tx_count"] == 1 and block["size"] < block["weight"] <= 4 * block["size"]
    assert await text(await api.get("/api/block/" + "00" * 32), 404) == "Block not found"
    await text(await api.get("/api/block/xyz"), 400)


async def test_posted_tx_is_unconfirmed_then_confirmed_with_esplora_shape(api, fund):
    key, prev = await fund(10**8)
    spend = key.spend([prev], [(key.script_pubkey, prev.value - 200)])
    txid = await text(await api.post("/api/tx", data=spend.serialize().hex()))
    assert txid == spend.txid().hex()

    tx = await json(await api.get(f"/api/tx/{txid}"))
    assert list(tx) == ["txid", "version", "locktime", "vin", "vout", "size", "weight", "fee", "status"]
    assert tx["status"] == {"confirmed": False}
    assert tx["fee"] == 200 and tx["size"] == len(spend.serialize()) and tx["weight"] == bip141_weight(spend)
    (vin,) = tx["vin"]
    assert list(vin) == ["txid", "vout", "prevout", "scriptsig", "scriptsig_asm", "witness", "is_coinbase", "sequence"]
    assert (vin["txid"], vin["vout"], vin["is_coinbase"], vin["sequence"]) == (prev.txid, prev.vout, False, 0xFFFFFFFD)
    assert vin["prevout"] == {
        "scriptpubkey": key.script_pubkey.hex(),
        "scriptpubkey_asm": f"OP_0 OP_PUSHBYTES_20 {key.script_pubkey[2:].hex()}",
        "scriptpubkey_type": "v0_p2wpkh",
        "scriptpubkey_address": key.address,
        "value": prev.value,
    }
    assert len(vin["witness"]) == 2
    assert await json(await api.get(f"/api/tx/{txid}/status")) == {"confirmed": False}

    mined = await json(await api.post("/api/devnet/mine", json={}))
    status = await json(await api.get(f"/api/tx/{txid}/status"))
    assert status == {"confirmed": True, "block_height": mined["height"],
                      "block_hash": mined["block_hashes"][0], "block_time": status["block_time"]}
    assert (await json(await api.get(f"/api/tx/{txid}")))["status"] == status
    assert await text(await api.get(f"/api/tx/{txid}/hex")) == spend.serialize().hex()


async def test_coinbase_tx_has_null_prevout_and_zero_fee(api, devnet):
    txid = devnet.chain.block(1).txs[0].txid().hex()
    tx = await json(await api.get(f"/api/tx/{txid}"))
    assert tx["vin"][0]["is_coinbase"] and tx["vin"][0]["prevout"] is None
    assert tx["vin"][0]["vout"] == 0xFFFFFFFF and tx["fee"] == 0


async def test_unknown_tx_is_404_but_its_status_and_outspends_answer_as_electrs(api):
    unknown = "ab" * 32
    for path in ("", "/hex", "/raw", "/outspends"):
        assert await text(await api.get(f"/api/tx/{unknown}{path}"), 404) == "Transaction not found"
    assert await text(await api.get(f"/api/tx/{unknown}/merkle-proof"), 404) == \
        "Transaction not found or is unconfirmed"
    assert await json(await api.get(f"/api/tx/{unknown}/status")) == {"confirmed": False}
    assert await json(await api.get(f"/api/tx/{unknown}/outspend/0")) == {"spent": False}
    for path in ("", "/hex", "/status", "/outspend/0"):
        assert await text(await api.get(f"/api/tx/xyz{path}"), 400) == "Invalid hex string"


async def test_outspend_follows_spend_from_mempool_to_chain(api, fund):
    key, prev = await fund()
    url = f"/api/tx/{prev.txid}/outspend/{prev.vout}"
    assert await json(await api.get(url)) == {"spent": False}
    spend = key.spend([prev], [(key.script_pubkey, prev.value - 200)])
    txid = await text(await api.post("/api/tx", data=spend.serialize().hex()))
    assert await json(await api.get(url)) == {"spent": True, "txid": txid, "vin": 0, "status": {"confirmed": False}}
    await api.post("/api/devnet/mine", json={})
    out = await json(await api.get(url))
    assert out["spent"] and out["txid"] == txid and out["status"]["confirmed"]
    assert await json(await api.get(f"/api/tx/{prev.txid}/outspend/99")) == {"spent": False}
    assert await text(await api.get(f"/api/tx/{prev.txid}/outspend/x"), 400) == "Invalid number"


async def test_address_stats_utxos_and_txs_track_chain_and_mempool(api, fund):
    key, prev = await fund(10**8)
    summary = await json(await api.get(f"/api/address/{key.address}"))
    assert summary == {
        "address": key.address,
        "chain_stats": {"funded_txo_count": 1, "funded_txo_sum": 10**8, "spent_txo_count": 0,
                        "spent_txo_sum": 0, "tx_count": 1},
        "mempool_stats": dict.fromkeys(STATS, 0),
    }
    utxo = await json(await api.get(f"/api/address/{key.address}/utxo"))
    assert [(u["txid"], u["vout"], u["value"], u["status"]["confirmed"]) for u in utxo] == [
        (prev.txid, prev.vout, 10**8, True)
    ]
    assert set(utxo[0]["status"]) == {"confirmed", "block_height", "block_hash", "block_time"}

    spend = key.spend([prev], [(key.script_pubkey, 6 * 10**7), (bytes.fromhex("0014" + "11" * 20), 4 * 10**7 - 300)])
    await text(await api.post("/api/tx", data=spend.serialize().hex()))
    summary = await json(await api.get(f"/api/address/{key.address}"))
    assert summary["mempool_stats"] == {"funded_txo_count": 1, "funded_txo_sum": 6 * 10**7, "spent_txo_count": 1,
                                        "spent_txo_sum": 10**8, "tx_count": 1}
    utxo = await json(await api.get(f"/api/address/{key.address}/utxo"))
    assert [(u["txid"], u["status"]) for u in utxo] == [(spend.txid().hex(), {"confirmed": False})]
    txs = await json(await api.get(f"/api/address/{key.address}/txs"))
    assert [t["txid"] for t in txs] == [spend.txid().hex(), prev.txid]


async def test_bad_addresses_are_400_in_electrs_words(api):
    for address, words in ((MAINNET_ADDRESS, "Address on invalid network"), ("notanaddress", "Invalid Bitcoin address"),
                           ("bcrt1qqqqq", "Invalid Bitcoin address")):
        for suffix in ("", "/utxo", "/txs", "/txs/chain", "/txs/mempool"):
            assert await text(await api.get(f"/api/address/{address}{suffix}"), 400) == words


async def test_fee_estimates_and_mempool_shapes(api, fund):
    estimates = await json(await api.get("/api/fee-estimates"))
    assert {"1", "6", "144", "1008"} <= set(estimates) and all(v == 1.0 for v in estimates.values())
    assert await json(await api.get("/api/mempool")) == {"count": 0, "vsize": 0, "total_fee": 0, "fee_histogram": []}
    key, prev = await fund()
    spend = key.spend([prev], [(key.script_pubkey, prev.value - 1100)])
    await api.post("/api/tx", data=spend.serialize().hex())
    vsize = bip141_weight(spend) // 4  # electrs rounds down where Core rounds up
    backlog = await json(await api.get("/api/mempool"))
    assert backlog == {"count": 1, "vsize": vsize, "total_fee": 1100, "fee_histogram": [[backlog["fee_histogram"][0][0],
                                                                                        vsize]]}
    assert abs(backlog["fee_histogram"][0][0] - 1100 / vsize) < 1e-5  # an f32, as electrs keeps it


async def test_info_reports_height_offset_balance_interval(api, devnet):
    info = await json(await api.get("/api/devnet/info"))
    assert info["height"] == 110 and info["time_offset"] == 0 and info["block_interval"] == 3600
    assert info["faucet_balance"] == 11 * 50 * 10**8
    assert info["faucet_address"] == devnet.faucet.address


async def test_mine_moves_time_then_mines_and_returns_hashes(api, devnet):
    mined = await json(await api.post("/api/devnet/mine", json={"blocks": 3, "advance_s": 600}))
    assert mined["height"] == 113 and len(mined["block_hashes"]) == 3
    assert mined["block_hashes"][-1] == devnet.chain.tip_hash and mined["time_offset"] == 600


@pytest.mark.parametrize("body, reason", [
    ({"blocks": 1001}, "between 0 and 1000"),
    ({"blocks": -1}, "between 0 and 1000"),
    ({"blocks": True}, "must be an integer"),
    ({"blocks": "2"}, "must be an integer"),
    ({"advance_s": -5}, "must not be negative"),
    ({"advance_s": 10**6}, "refuses blocks over"),
    ({"bogus": 1}, "unknown field"),
    ([1], "JSON object"),
])
async def test_mine_refuses_bad_requests(api, body, reason):
    assert reason in await text(await api.post("/api/devnet/mine", json=body), 400)
    assert await text(await api.get("/api/blocks/tip/height")) == "110"


@pytest.mark.parametrize("body, reason", [
    ({"address": MAINNET_ADDRESS, "amount_sat": 1000}, "not a regtest address"),
    ({"address": "bcrt1qar0srrr7xfkvy5l643lydnw9re59gtzzxxk9p6", "amount_sat": 10 * 10**8 + 1}, "between"),
    ({"address": "bcrt1qar0srrr7xfkvy5l643lydnw9re59gtzzxxk9p6", "amount_sat": 1}, "between"),
    ({"amount_sat": 1000}, "missing field: address"),
    ({"address": 5, "amount_sat": 1000}, "must be a string"),
])
async def test_faucet_refuses_bad_requests(api, body, reason):
    assert reason in await text(await api.post("/api/devnet/faucet", json=body), 400)
    assert (await json(await api.get("/api/mempool")))["count"] == 0


async def test_faucet_calls_chain_through_mempool_change(api):
    for _ in range(3):
        assert (await api.post("/api/devnet/faucet", json={
            "address": "bcrt1qar0srrr7xfkvy5l643lydnw9re59gtzzxxk9p6", "amount_sat": 2 * 10**8})).status == 200
    assert (await json(await api.get("/api/mempool")))["count"] == 3


async def test_miner_mines_every_block_interval(aiohttp_client, tmp_path):
    root = web.Application()
    root.add_subapp("/api", make_devnet_app(tmp_path, block_interval=0.1))
    api = await aiohttp_client(root)
    await asyncio.sleep(0.5)
    assert int(await text(await api.get("/api/blocks/tip/height"))) >= 112
