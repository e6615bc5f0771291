"""The Esplora endpoints wallets use besides the app's own, answered as electrs'
`src/rest.rs` answers them: paths, paging, status codes, content types, headers."""

import hashlib

import pytest
from embit.transaction import Transaction

from streamium_server.devnet.wallet import Key

pytestmark = pytest.mark.asyncio

ELSEWHERE = bytes.fromhex("0014" + "22" * 20)
TTL_LONG = "public, max-age=157784630"
TTL_SHORT = "public, max-age=10"


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


async def get(api, path, status=200, content_type="application/json"):
    resp = await api.get("/api" + path)
    body = await resp.read()
    assert resp.status == status, body
    assert resp.content_type == content_type, resp.content_type
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    if content_type == "application/json":
        return await resp.json()
    return body if content_type == "application/octet-stream" else body.decode()


async def faucet(api, address, amount=100_000):
    resp = await api.post("/api/devnet/faucet", json={"address": address, "amount_sat": amount})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["txid"]


async def test_blocks_pages_ten_blocks_down_from_the_tip_or_a_height(api, devnet):
    tip = devnet.chain.height
    page = await get(api, "/blocks")
    assert [b["height"] for b in page] == list(range(tip, tip - 10, -1))
    assert page[0]["id"] == devnet.chain.tip_hash and page[1]["id"] == page[0]["previousblockhash"]
    assert [b["height"] for b in await get(api, "/blocks/5")] == [5, 4, 3, 2, 1, 0]
    assert [b["height"] for b in await get(api, "/blocks/abc")] == list(range(tip, tip - 10, -1))
    assert await get(api, f"/blocks/{tip + 1}", 404, "text/plain") == "Block not found"


async def test_a_block_by_hash_gives_its_header_raw_bytes_txids_and_status(api, devnet):
    tip = devnet.chain.tip_hash
    header = bytes.fromhex(await get(api, f"/block/{tip}/header", content_type="text/plain"))
    assert len(header) == 80 and sha256d(header)[::-1].hex() == tip
    raw = await get(api, f"/block/{tip}/raw", content_type="application/octet-stream")
    assert raw[:80] == header
    txids = await get(api, f"/block/{tip}/txids")
    coinbase = Transaction.parse(raw[81:])
    assert txids == [coinbase.txid().hex()]
    assert await get(api, f"/block/{tip}/txid/0", content_type="text/plain") == txids[0]
    assert await get(api, f"/block/{tip}/txid/1", 404, "text/plain") == "tx index out of range"
    assert await get(api, f"/block/{tip}/txid/x", 400, "text/plain") == "Invalid number"
    assert await get(api, f"/block/{tip}/status") == {"in_best_chain": True, "height": devnet.chain.height,
                                                      "next_best": None}
    below = devnet.chain.block_hash(devnet.chain.height - 1)
    assert (await get(api, f"/block/{below}/status"))["next_best"] == tip
    assert await get(api, f"/block/{'00' * 32}/status") == {"in_best_chain": False, "height": None,
                                                             "next_best": None}
    for path in ("", "/header", "/raw", "/txids", "/txs", "/txid/0"):
        assert await get(api, f"/block/{'00' * 32}{path}", 404, "text/plain") == "Block not found"
        assert await get(api, f"/block/nothex{path}", 400, "text/plain") == "Invalid hex string"


async def test_block_txs_come_25_to_a_page(api, devnet):
    for _ in range(29):
        await faucet(api, Key().address)
    (block_hash,) = (await (await api.post("/api/devnet/mine", json={})).json())["block_hashes"]
    txids = await get(api, f"/block/{block_hash}/txids")
    assert len(txids) == 30
    first, second = await get(api, f"/block/{block_hash}/txs"), await get(api, f"/block/{block_hash}/txs/25")
    assert [t["txid"] for t in first + second] == txids and len(first) == 25
    assert all(t["status"]["block_hash"] == block_hash for t in first + second)
    assert await get(api, f"/block/{block_hash}/txs/3", 400, "text/plain") == \
        "start index must be a multipication of 25"
    assert await get(api, f"/block/{block_hash}/txs/50", 404, "text/plain") == "start index out of range"


async def test_a_confirmed_tx_has_raw_bytes_a_merkle_proof_and_outspends(api, fund):
    key, prev = await fund()
    spend = key.spend([prev], [(ELSEWHERE, 40_000), (key.script_pubkey, prev.value - 40_500)])
    await api.post("/api/tx", data=spend.serialize().hex())
    mined = await (await api.post("/api/devnet/mine", json={})).json()
    txid = spend.txid().hex()
    assert await get(api, f"/tx/{txid}/raw", content_type="application/octet-stream") == spend.serialize()

    proof = await get(api, f"/tx/{txid}/merkle-proof")
    assert proof["block_height"] == mined["height"]
    node, pos = bytes.fromhex(txid)[::-1], proof["pos"]
    for sibling in proof["merkle"]:
        pair = (node + bytes.fromhex(sibling)[::-1]) if pos % 2 == 0 else (bytes.fromhex(sibling)[::-1] + node)
        node, pos = sha256d(pair), pos // 2
    header = bytes.fromhex(await get(api, f"/block/{mined['block_hashes'][0]}/header", content_type="text/plain"))
    assert node == header[36:68]

    outspends = await get(api, f"/tx/{prev.txid}/outspends")
    assert outspends[prev.vout]["txid"] == txid and outspends[prev.vout]["status"]["confirmed"]
    assert await get(api, f"/tx/{txid}/outspends") == [{"spent": False}, {"spent": False}]


async def test_scripthash_forms_answer_as_the_address_forms(api, fund):
    key, prev = await fund()
    await api.post("/api/tx", data=key.spend([prev], [(key.script_pubkey, prev.value - 500)]).serialize().hex())
    script_hash = hashlib.sha256(key.script_pubkey).hexdigest()
    for suffix in ("/utxo", "/txs", "/txs/chain", "/txs/mempool"):
        assert await get(api, f"/scripthash/{script_hash}{suffix}") == await get(api, f"/address/{key.address}{suffix}")
    by_hash, by_address = await get(api, f"/scripthash/{script_hash}"), await get(api, f"/address/{key.address}")
    assert by_hash.pop("scripthash") == script_hash and by_address.pop("address") == key.address
    assert by_hash == by_address and by_hash["mempool_stats"]["tx_count"] == 1
    assert await get(api, "/scripthash/zz", 400, "text/plain") == "Invalid hex string"
    assert await get(api, "/scripthash/00", 400, "text/plain") == "Invalid scripthash"


async def test_confirmed_history_pages_25_at_a_time_after_the_last_txid_seen(api):
    address = Key().address
    sent = [await faucet(api, address) for _ in range(30)]
    await api.post("/api/devnet/mine", json={})
    await faucet(api, address)  # one in the mempool: not in the chain pages
    first = await get(api, f"/address/{address}/txs/chain")
    rest = await get(api, f"/address/{address}/txs/chain/{first[-1]['txid']}")
    assert len(first) == 25 and sorted(t["txid"] for t in first + rest) == sorted(sent)
    assert all(t["status"]["confirmed"] for t in first + rest)
    assert len(await get(api, f"/address/{address}/txs/mempool")) == 1
    assert len(await get(api, f"/address/{address}/txs")) == 26  # the mempool tx, then 25 confirmed


async def test_mempool_txids_and_recent_list_what_entered_the_mempool(api, fund):
    key, prev = await fund()
    spend = key.spend([prev], [(ELSEWHERE, prev.value - 1100)])
    await api.post("/api/tx", data=spend.serialize().hex())
    assert await get(api, "/mempool/txids") == [spend.txid().hex()]
    (recent, *older) = await get(api, "/mempool/recent")
    assert list(recent) == ["txid", "fee", "vsize", "value"]
    assert (recent["txid"], recent["fee"], recent["value"]) == (spend.txid().hex(), 1100, prev.value)
    assert 108 <= recent["vsize"] <= 111


async def test_headers_and_error_texts_are_electrs(api, devnet):
    resp = await api.get("/api/blocks/tip/height")
    assert resp.headers["Cache-Control"] == TTL_SHORT
    resp = await api.get(f"/api/block/{devnet.chain.block_hash(1)}")
    assert resp.headers["Cache-Control"] == TTL_LONG
    resp = await api.get("/api/nothing/here")
    assert resp.status == 404 and await resp.text() == 'endpoint does not exist "/api/nothing/here"'
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    resp = await api.post("/api/tx", data="00")
    assert resp.status == 400 and resp.headers["Access-Control-Allow-Origin"] == "*"
    assert await get(api, "/address-prefix/bcrt1", 400, "text/plain") == "address search disabled"
    assert await get(api, "/block-height/abc", 400, "text/plain") == "Invalid number"


async def test_the_deprecated_get_broadcast_still_publishes(api, fund):
    key, prev = await fund()
    spend = key.spend([prev], [(ELSEWHERE, prev.value - 500)])
    assert await get(api, f"/broadcast?tx={spend.serialize().hex()}", content_type="text/plain") == \
        spend.txid().hex()
    assert await get(api, "/broadcast", 400, "text/plain") == "Missing tx"
