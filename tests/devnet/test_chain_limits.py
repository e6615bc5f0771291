"""Core's mempool chain limits at their defaults (25 ancestors, 25 descendants,
101 kvB each way) and the CPFP carve-out that lets a channel party add one
small child to a parent whose package is full."""

import pytest

from streamium_server.devnet.wallet import Prevout

from .test_refusals import accepted, refused

pytestmark = pytest.mark.asyncio

ELSEWHERE = bytes.fromhex("0014" + "22" * 20)


async def chain_of(api, key, coin: Prevout, length: int) -> Prevout:
    """`length` transactions, each spending the one before; returns the last output."""
    for _ in range(length):
        tx = key.spend([coin], [(key.script_pubkey, coin.value - 500)])
        await accepted(api, tx)
        coin = Prevout(tx.txid().hex(), 0, coin.value - 500)
    return coin


async def test_a_chain_of_25_unconfirmed_transactions_is_the_longest_accepted(api, fund):
    key, prev = await fund()
    tip = await chain_of(api, key, prev, 25)
    too_long = key.spend([tip], [(ELSEWHERE, tip.value - 500)])
    assert await refused(api, too_long, "too-long-mempool-chain") == \
        "too-long-mempool-chain, too many unconfirmed ancestors [limit: 25]"
    await api.post("/api/devnet/mine", json={})
    await accepted(api, too_long)


async def test_the_carve_out_admits_one_more_small_child_of_a_full_package(api, fund):
    key, prev = await fund()
    parent = key.spend([prev], [(key.script_pubkey, 10**7)] * 3 + [(key.script_pubkey, prev.value - 3 * 10**7 - 1000)])
    await accepted(api, parent)
    parent_txid = parent.txid().hex()
    await chain_of(api, key, Prevout(parent_txid, 0, 10**7), 24)  # the parent now has 24 descendants

    await accepted(api, key.spend([Prevout(parent_txid, 1, 10**7)], [(ELSEWHERE, 10**7 - 500)]))
    another = key.spend([Prevout(parent_txid, 2, 10**7)], [(ELSEWHERE, 10**7 - 500)])
    assert await refused(api, another, "too-long-mempool-chain") == \
        f"too-long-mempool-chain, too many descendants for tx {parent_txid} [limit: 25]"
