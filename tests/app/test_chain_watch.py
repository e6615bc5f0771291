"""The pages' chain questions (app/chain_watch.py) asked of the real devnet through the app's
Esplora client: the answers electrs' routes give become the core's events, and the channel
ends the way the chain says, not the way the peer says."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.channel import states
from app.channel.broadcaster import LOST_AFTER_L_S
from app import chain_watch
from streamium_server.devnet import DEVNET, make_devnet_app
from streamium_server.esplora_client import esplora
from streamium_server.devnet.wallet import Key, Prevout
from tests.channel.full_channel import Pair, channel_terms, open_channel

CAPACITY = 100_000


@pytest.fixture
async def chain(tmp_path):
    """(Esplora client, Devnet): a devnet that mines only when told, behind its REST routes."""
    devnet_app = make_devnet_app(tmp_path / "devnet", block_interval=3600)
    root = web.Application()
    root.add_subapp("/api", devnet_app)
    async with TestClient(TestServer(root)) as client:
        yield esplora("/api", client), devnet_app[DEVNET]


def faucet_payments(devnet, mined):
    """`open_channel`'s fund: the devnet's wallet pays the funding address, mined or not."""
    def fund(address, _script, amount):
        txid = devnet.send_from_faucet(address, amount)
        vout = next(i for i, o in enumerate(devnet.mempool.entries[txid].tx.vout) if o.value == amount)
        if mined:
            devnet.mine(1)
        return [{"txid": txid, "vout": vout, "value": amount}]
    return fund


async def opened(api, devnet, seed, mined):
    """A channel whose T1 the devnet's mempool accepted; the broadcaster was told so."""
    pair = Pair(channel_terms(), seed, devnet.chain.tip_time())
    open_channel(pair, CAPACITY, faucet_payments(devnet, mined))
    (_, t1), = pair.broadcasts
    assert await api.broadcast(t1.tx, t1.txid) == t1.txid
    pair.run("broadcaster", pair.broadcaster.tx_accepted(t1.txid, pair.now))
    return pair


async def test_a_funding_payment_replaced_under_t1_ends_the_media_and_keeps_t3_until_after_the_lock_time(chain):
    api, devnet = chain
    pair = await opened(api, devnet, "replaced-parent", mined=False)
    b, v = pair.broadcaster, pair.viewer
    (payment, _), = b.watch.funding_inputs
    original = devnet.mempool.entries[payment].tx
    inputs = [Prevout(i.txid.hex(), i.vout, devnet.chain.coin(i.txid.hex(), i.vout).value) for i in original.vin]
    outputs = [(o.script_pubkey.data, o.value) for o in original.vout]
    outputs[-1] = (outputs[-1][0], outputs[-1][1] - 20_000)  # the wallet's fee bump, paid by its change
    devnet.submit(devnet.faucet.spend(inputs, outputs).serialize())
    assert v.channel.funding.txid not in devnet.mempool.entries, "T1 went with the payment it spent"

    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 10))
    assert b.end_reason == v.end_reason == "funding_gone" and b.earned == 0
    assert b.state == states.SETTLING and b.funding_lost, "paid: its T3 is kept while the payment may come back"
    devnet.mine(1)
    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 20))
    assert b.state == states.SETTLING
    pair.run("broadcaster", b.tick(v.channel.lock_time + LOST_AFTER_L_S))
    assert b.state == states.CLOSED, "no conflict of T1 itself was seen: kept until well after L"


async def test_t1_double_spent_by_the_viewer_is_funding_gone_and_forgotten_once_the_spend_is_buried(chain):
    api, devnet = chain
    pair = await opened(api, devnet, "double-spent", mined=True)
    b, v = pair.broadcaster, pair.viewer
    assert b.amount > 0
    coin = v.utxos[0]
    k1 = Key(v.key.secret)
    conflict = k1.spend([Prevout(coin.txid, coin.vout, coin.value)], [(k1.script_pubkey, coin.value - 5_000)])
    devnet.submit(conflict.serialize())  # full RBF: a higher fee replaces T1, and every T3 with it
    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 10))
    assert b.state == states.SETTLING and b.funding_conflict == conflict.txid().hex() and not pair.media
    devnet.mine(b.buried - 1)
    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 20))
    assert b.state == states.SETTLING
    devnet.mine(1)
    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 30))
    assert b.state == states.CLOSED and b.earned == 0


async def test_a_buried_t3_closes_both_sides_from_the_chains_answers(chain):
    api, devnet = chain
    pair = await opened(api, devnet, "settled", mined=True)
    b, v = pair.broadcaster, pair.viewer
    devnet.mine(1)
    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 1))
    assert b.state == v.state == states.OPEN
    for _ in range(3):
        pair.now += 10
        v.received_video(10)
        pair.run("viewer", v.tick(pair.now))
    assert b.amount > 0
    pair.run("viewer", v.close(pair.now))
    (_, t3), = [(side, action) for side, action in pair.broadcasts[1:] if side == "broadcaster"]
    assert await api.broadcast(t3.tx, t3.txid) == t3.txid
    pair.run("broadcaster", b.tx_accepted(t3.txid, pair.now))

    pair.run("viewer", await chain_watch.viewer_round(api, v, pair.now + 1))
    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 1))
    assert v.state == b.state == states.SETTLING, "in the mempool is not settled"
    devnet.mine(v.buried - 1)
    pair.run("viewer", await chain_watch.viewer_round(api, v, pair.now + 2))
    assert v.state == states.SETTLING, "one block short of buried"
    devnet.mine(1)
    pair.run("viewer", await chain_watch.viewer_round(api, v, pair.now + 3))
    pair.run("broadcaster", await chain_watch.broadcaster_round(api, b, pair.now + 3))
    assert v.state == b.state == states.CLOSED and v.closing_txid == t3.txid
    assert b.earned == b.amount
