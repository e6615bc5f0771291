"""Every way coins get stranded at a viewer's funding address ends with them back home: the
viewer's `sweep` is accepted by the devnet's mempool (Core 28 policy, kernel-checked scripts)
and mined by libbitcoinkernel, paying the refund address all but the fee it showed."""

import pytest
from embit.transaction import Transaction

from app.channel import Broadcaster, states
from app.channel.addresses import address_script
from streamium_server.devnet import Devnet
from streamium_server.devnet.index import scripthash
from streamium_server.devnet.wallet import Prevout
from tests.channel.full_channel import Pair, change_address, channel_terms, key_secret

CAPACITY = 100_000


@pytest.fixture
def devnet(tmp_path):
    node = Devnet(tmp_path / "devnet", block_interval=3600)
    yield node
    node.close()


def coins_at(devnet, address, network="regtest"):
    """The unspent coins paying `address`, confirmed or in the mempool, as Esplora lists them."""
    script = address_script(address, network)
    found = []
    for out in devnet.index.outputs_of(scripthash(script)):
        if not out.spent_txid and (out.txid, out.vout) not in devnet.mempool.spends:
            found.append({"txid": out.txid, "vout": out.vout, "value": out.value})
    for entry in devnet.mempool.entries.values():
        for vout, out in enumerate(entry.tx.vout):
            if out.script_pubkey.data == script and (entry.txid, vout) not in devnet.mempool.spends:
                found.append({"txid": entry.txid, "vout": vout, "value": out.value})
    return found


def pay(devnet, address, amount):
    """The user's wallet (the faucet) pays the funding address; the payment stays unconfirmed."""
    return devnet.send_from_faucet(address, amount)


def accepted_viewer(seed, now, fee_rate=2):
    """A viewer that accepted an offer: K1 stored, the funding address shown."""
    pair = Pair(channel_terms(fee_rate_sat_vb=fee_rate), seed, now)
    pair.run("viewer", pair.viewer.connected(now))
    pair.run("broadcaster", pair.broadcaster.start())
    pair.run("viewer", pair.viewer.accept(CAPACITY, change_address("regtest"), now))
    assert pair.viewer.state == states.FUNDING
    return pair


def sweep_home(devnet, v, now):
    """The viewer's sweep of whatever it may take: published, mined, paid to its refund address."""
    coins = v.sweepable(coins_at(devnet, v.funding_address))
    assert coins, "nothing to sweep"
    fee = v.sweep_fee(coins, v.change_address)
    (sweep,) = v.sweep(coins, v.change_address, now)
    assert devnet.submit(bytes.fromhex(sweep.tx)) == sweep.txid
    devnet.mine(1)
    confirmed = devnet.index.tx(sweep.txid)
    assert confirmed, "the kernel did not mine the sweep"
    (out,) = Transaction.parse(confirmed[0]).vout
    assert out.script_pubkey.data == address_script(v.change_address, "regtest")
    assert out.value == sum(c.value for c in coins) - fee
    return out.value


def test_a_new_offer_with_another_fee_rate_after_funding_strands_nothing(devnet):
    now = devnet.chain.tip_time()
    pair = accepted_viewer("refee", now)
    v = pair.viewer
    pay(devnet, v.funding_address, v.funding_amount(CAPACITY))
    reloaded = Broadcaster.new(channel_terms(fee_rate_sat_vb=3), key_secret("refee", "identity"),
                               key_secret("refee-2", "k2"))
    (refused,) = v.receive(reloaded.start()[1].message, now + 5)
    assert refused.message["code"] == "bad_offer" and v.state == states.FUNDING
    assert sweep_home(devnet, v, now + 10) > CAPACITY - 1000


def test_a_replayed_old_offer_strands_nothing(devnet):
    now = devnet.chain.tip_time()
    older = Broadcaster.new(channel_terms(rate_sat_per_min=5000), key_secret("replay", "identity"),
                            key_secret("replay-old", "k2")).offer_message
    pair = accepted_viewer("replay", now)
    v = pair.viewer
    pay(devnet, v.funding_address, v.funding_amount(CAPACITY))
    (refused,) = v.receive(older, now + 5)
    assert refused.message["code"] == "bad_offer"
    sweep_home(devnet, v, now + 10)


def test_a_clock_more_than_600_s_off_found_after_funding_strands_nothing(devnet):
    now = devnet.chain.tip_time()
    pair = accepted_viewer("clock", now)
    v, b = pair.viewer, pair.broadcaster
    pay(devnet, v.funding_address, v.funding_amount(CAPACITY))
    pair.broadcaster_alive = False
    v.funded(coins_at(devnet, v.funding_address), now + 700)  # the viewer's clock is 700 s ahead
    answer = b.receive(v._open_message(), now)
    assert answer[-1].message["code"] == "bad_refund" and v.state == states.FUNDING
    sweep_home(devnet, v, now + 10)


def test_a_deposit_paid_twice_leaves_the_second_payment_sweepable_beside_the_open_channel(devnet):
    now = devnet.chain.tip_time()
    pair = accepted_viewer("twice", now)
    v = pair.viewer
    pay(devnet, v.funding_address, v.funding_amount(CAPACITY))
    first = coins_at(devnet, v.funding_address)
    pair.coins.update({(c["txid"], c["vout"]): c["value"] for c in first})
    pair.run("viewer", v.funded(first, now))
    (t1,) = [action for side, action in pair.broadcasts]
    devnet.submit(bytes.fromhex(t1.tx))
    pair.confirm_pending()
    assert v.state == states.OPEN and v.funding_acked
    pay(devnet, v.funding_address, 30_000)  # the wallet sent it again
    assert [c.value for c in v.sweepable(coins_at(devnet, v.funding_address))] == [30_000]
    assert 29_000 < sweep_home(devnet, v, now + 60) < 30_000


def test_a_wallets_fee_bump_of_the_funding_payment_strands_nothing(devnet):
    """The user's wallet replaces its payment to the funding address (BIP125, full RBF): the coin
    T1 spends is gone, T1 is refused, and the bumped payment's coin comes home."""
    now = devnet.chain.tip_time()
    pair = accepted_viewer("bump", now)
    v, b = pair.viewer, pair.broadcaster
    payment = pay(devnet, v.funding_address, v.funding_amount(CAPACITY))
    coins = coins_at(devnet, v.funding_address)
    pair.coins.update({(c["txid"], c["vout"]): c["value"] for c in coins})
    pair.run("viewer", v.funded(coins, now))
    assert v.state == states.REFUND_SIGNED and b.funding_tx

    original = devnet.mempool.entries[payment].tx
    faucet_inputs = [Prevout(i.txid.hex(), i.vout, devnet.chain.coin(i.txid.hex(), i.vout).value) for i in original.vin]
    outputs = [(o.script_pubkey.data, o.value) for o in original.vout]
    outputs[-1] = (outputs[-1][0], outputs[-1][1] - 5_000)  # the change pays the bump
    bumped = devnet.faucet.spend(faucet_inputs, outputs)
    devnet.submit(bumped.serialize())
    assert payment not in devnet.mempool.entries

    (t1,) = [action for side, action in pair.broadcasts]
    with pytest.raises(Exception, match="bad-txns-inputs-missingorspent"):
        devnet.submit(bytes.fromhex(t1.tx))
    pair.run("broadcaster", b.tx_rejected(t1.txid, "bad-txns-inputs-missingorspent", now + 5))
    assert b.state == states.CLOSED and v.state == states.REFUND_SIGNED
    assert [c["txid"] for c in coins_at(devnet, v.funding_address)] == [bumped.txid().hex()]
    sweep_home(devnet, v, now + 10)
