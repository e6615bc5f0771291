"""Full replace-by-fee as Bitcoin Core 28 applies it by default: any unconfirmed
transaction gives way to a conflicting one that pays enough more (BIP125 rules
2-6), its descendants leave with it, and electrs then shows it as unknown."""

import pytest

from streamium_server.devnet.block import weight
from streamium_server.devnet.index import scripthash
from streamium_server.devnet.policy import TxRejected
from streamium_server.devnet.wallet import Key, Prevout

from .test_refusals import accepted, refused

pytestmark = pytest.mark.asyncio

ELSEWHERE = bytes.fromhex("0014" + "22" * 20)
SOMEWHERE_ELSE = bytes.fromhex("0014" + "33" * 20)


def vsize(tx) -> int:
    return (weight(tx) + 3) // 4


def btc(sats: int) -> str:
    """Core's FormatMoney, written out for the expected messages."""
    text = f"{sats // 10**8}.{sats % 10**8:08d}".rstrip("0")
    return text + "0" * max(0, 2 - len(text.split(".")[1]))


def kvb(fee: int, size: int) -> str:
    """Core's CFeeRate(fee, size).ToString()."""
    rate = fee * 1000 // size
    return f"{rate // 10**8}.{rate % 10**8:08d} BTC/kvB"


async def json_at(api, path):
    resp = await api.get(path)
    return resp.status, await resp.json() if resp.content_type == "application/json" else await resp.text()


async def test_a_better_paying_double_spend_evicts_the_original_and_its_children(api, fund):
    key, prev = await fund()
    original = key.spend([prev], [(key.script_pubkey, prev.value - 1000)])
    child = key.spend([Prevout(original.txid().hex(), 0, prev.value - 1000)], [(ELSEWHERE, prev.value - 2000)])
    await accepted(api, original)
    await accepted(api, child)
    replacement = key.spend([prev], [(SOMEWHERE_ELSE, prev.value - 3000)])
    await accepted(api, replacement)

    assert await json_at(api, "/api/mempool/txids") == (200, [replacement.txid().hex()])
    for gone in (original, child):
        assert await json_at(api, f"/api/tx/{gone.txid().hex()}") == (404, "Transaction not found")
        assert await json_at(api, f"/api/tx/{gone.txid().hex()}/status") == (200, {"confirmed": False})
    _, spend = await json_at(api, f"/api/tx/{prev.txid}/outspend/{prev.vout}")
    assert spend["txid"] == replacement.txid().hex()
    await api.post("/api/devnet/mine", json={})
    _, status = await json_at(api, f"/api/tx/{replacement.txid().hex()}/status")
    assert status["confirmed"]
    assert await json_at(api, f"/api/tx/{original.txid().hex()}/status") == (200, {"confirmed": False})


async def test_rule_3_the_replacement_pays_at_least_what_it_evicts(api, fund):
    key, prev = await fund()
    original = key.spend([prev], [(key.script_pubkey, prev.value - 1000)])
    child = key.spend([Prevout(original.txid().hex(), 0, prev.value - 1000)], [(ELSEWHERE, prev.value - 6000)])
    await accepted(api, original)
    await accepted(api, child)
    replacement = key.spend([prev], [(SOMEWHERE_ELSE, prev.value - 3000)])
    assert await refused(api, replacement, "insufficient fee") == (
        f"insufficient fee, rejecting replacement {replacement.txid().hex()}, less fees than conflicting txs; "
        f"{btc(3000)} < {btc(6000)}")


async def test_rule_4_the_extra_fee_pays_for_relaying_the_replacement(api, fund):
    key, prev = await fund()
    await accepted(api, key.spend([prev], [(ELSEWHERE, prev.value - 1000)]))

    def paying_extra(shortfall):
        """A replacement whose extra fee is its own vsize minus `shortfall`. A signature is 71 or
        72 bytes, so the vsize the fee assumed is ground for over lock times (all in the past)."""
        size = vsize(key.spend([prev], [(SOMEWHERE_ELSE, prev.value)]))
        for locktime in range(100):
            tx = key.spend([prev], [(SOMEWHERE_ELSE, prev.value - 1000 - (size - shortfall))], locktime=locktime)
            if vsize(tx) == size:
                return tx, size
        raise AssertionError("no lock time gave the signature size the fee assumed")

    short, size = paying_extra(1)
    assert await refused(api, short, "insufficient fee") == (
        f"insufficient fee, rejecting replacement {short.txid().hex()}, not enough additional fees to relay; "
        f"{btc(size - 1)} < {btc(size)}")
    await accepted(api, paying_extra(0)[0])


async def test_rule_6_the_replacement_pays_a_higher_fee_rate_than_what_it_replaces(api, fund):
    key, prev = await fund()
    original = key.spend([prev], [(ELSEWHERE, prev.value - 1000)])
    await accepted(api, original)
    wide = key.spend([prev], [(SOMEWHERE_ELSE, 1000)] * 11 + [(ELSEWHERE, prev.value - 11_000 - 2000)])
    assert await refused(api, wide, "insufficient fee") == (
        f"insufficient fee, rejecting replacement {wide.txid().hex()}; new feerate {kvb(2000, vsize(wide))} "
        f"<= old feerate {kvb(1000, vsize(original))}")


async def test_rule_2_a_replacement_adds_no_new_unconfirmed_input(api, fund):
    key, prev = await fund()
    other, other_prev = await fund()
    await accepted(api, key.spend([prev], [(ELSEWHERE, prev.value - 1000)]))
    unrelated = other.spend([other_prev], [(key.script_pubkey, other_prev.value - 1000)])
    await accepted(api, unrelated)
    replacement = key.spend([prev, Prevout(unrelated.txid().hex(), 0, other_prev.value - 1000)],
                            [(SOMEWHERE_ELSE, prev.value + other_prev.value - 10_000)])
    assert await refused(api, replacement, "replacement-adds-unconfirmed") == (
        f"replacement-adds-unconfirmed, replacement {replacement.txid().hex()} adds unconfirmed input, idx 1")


async def test_a_transaction_cannot_spend_what_it_replaces(api, fund):
    key, prev = await fund()
    original = key.spend([prev], [(key.script_pubkey, prev.value - 1000)])
    await accepted(api, original)
    both = key.spend([prev, Prevout(original.txid().hex(), 0, prev.value - 1000)], [(ELSEWHERE, prev.value)])
    assert await refused(api, both, "bad-txns-spends-conflicting-tx") == (
        f"bad-txns-spends-conflicting-tx, {both.txid().hex()} spends conflicting transaction {original.txid().hex()}")


async def test_rule_5_at_most_100_transactions_are_evicted(api, fund):
    key, prev = await fund()
    split = key.spend([prev], [(key.script_pubkey, 900_000)] * 101 + [(key.script_pubkey, prev.value - 101 * 900_000
                                                                      - 10_000)])
    await accepted(api, split)
    await api.post("/api/devnet/mine", json={})
    coins = [Prevout(split.txid().hex(), vout, 900_000) for vout in range(101)]
    for coin in coins:
        await accepted(api, key.spend([coin], [(ELSEWHERE, 899_000)]))
    greedy = key.spend(coins, [(SOMEWHERE_ELSE, 101 * 900_000 - 500_000)])
    assert await refused(api, greedy, "too many potential replacements") == (
        f"too many potential replacements, rejecting replacement {greedy.txid().hex()}; "
        "too many potential replacements (101 > 100)")
    await accepted(api, key.spend(coins[:100], [(SOMEWHERE_ELSE, 100 * 900_000 - 500_000)]))
    assert len((await json_at(api, "/api/mempool/txids"))[1]) == 2


async def test_a_viewer_can_replace_an_unconfirmed_funding_and_void_every_payment(devnet):
    """The money hole protocol v2 §B closes: T1 unconfirmed, the broadcaster's T3 on top, then
    the viewer's own wallet double-spends T1's input at a higher fee. T1 and T3 leave the
    mempool together and T3 can no longer be published."""
    from app.channel import transactions as txs
    from app.channel.signatures import private_key
    from tests.channel.full_channel import key_secret, run_full_channel

    coins = []

    def fund_from_faucet(address, script_pubkey, amount):
        txid = devnet.send_from_faucet(address, amount)
        devnet.mine(1)
        (out,) = [o for o in devnet.index.outputs_of(scripthash(script_pubkey)) if o.txid == txid]
        coins.append(txs.Utxo(txid, out.vout, out.value))
        return [{"txid": txid, "vout": out.vout, "value": out.value}]

    channel = run_full_channel("close", payments=5, fund=fund_from_faucet, now=devnet.chain.tip_time())
    devnet.submit(bytes.fromhex(channel["funding_tx"]))
    devnet.submit(bytes.fromhex(channel["closing_tx"]))
    assert len(devnet.mempool.entries) == 2

    k1 = private_key(key_secret("full", "k1"))  # run_full_channel's viewer key: it owns the funding coin
    elsewhere = Key().script_pubkey
    own = txs.sign_funding(txs.funding_tx(coins, elsewhere, channel["value"], elsewhere, 20), coins, k1)
    assert devnet.submit(own.serialize()) == own.txid().hex()
    assert list(devnet.mempool.entries) == [own.txid().hex()]
    with pytest.raises(TxRejected, match="bad-txns-inputs-missingorspent"):
        devnet.submit(bytes.fromhex(channel["closing_tx"]))
    devnet.mine(1)
    assert devnet.index.tx(own.txid().hex()) and not devnet.index.tx(channel["funding_txid"])
