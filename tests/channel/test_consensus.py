"""The consensus oracle: every T1, T2, T3 and T3(0) the channel builds is judged by
libbitcoinkernel, by script verification with all flags and by mining it."""

import pytest

from app.channel import transactions as txs

from .conftest import fund_from_chain
from .full_channel import run_full_channel

pytestmark = pytest.mark.slow


def spent_outputs(chain, tx_hex):
    tx = txs.parse_tx(tx_hex, "")
    coins = [chain.coin(i.txid.hex(), i.vout) for i in tx.vin]
    assert all(coins), "an input is not in the UTXO set"
    return [(c.script_pubkey, c.value) for c in coins]


def verify_and_mine(chain, tx_hex, time=None):
    chain.verify_tx_scripts(bytes.fromhex(tx_hex), spent_outputs(chain, tx_hex))
    height = chain.height
    chain.mine_block(txs=[bytes.fromhex(tx_hex)], time=time)
    assert chain.height == height + 1
    txid = txs.txid(txs.parse_tx(tx_hex, ""))
    assert chain.coin(txid, 0) is not None


def run_on_chain(chain, ending):
    chain.mine_block()  # leave genesis time behind: the channel's clock starts at the tip's
    return run_full_channel(ending, payments=5, fund=fund_from_chain(chain), now=chain.tip_time(),
                            refund_lock_s=600)


@pytest.mark.parametrize("ending", ["close", "unpaid", "exhausted", "expiring"])
def test_funding_and_payment_transactions_are_valid_and_mine(chain, ending):
    r = run_on_chain(chain, ending)
    verify_and_mine(chain, r["funding_tx"])
    verify_and_mine(chain, r["closing_tx"])


def test_released_t3_zero_is_valid_and_mines(chain):
    r = run_on_chain(chain, "release")
    verify_and_mine(chain, r["funding_tx"])
    verify_and_mine(chain, r["release_tx"])


def test_refund_is_refused_until_median_time_past_is_beyond_its_lock_time_then_mines(chain):
    """Core's IsFinalTx: nLockTime < MTP, strictly. At MTP equal to L the refund is still
    non-final, which is why the page offers it only once MTP > L."""
    from streamium_server.devnet.chain import BlockRejected

    r = run_on_chain(chain, "refund")
    lock, refund = r["lock_time"], bytes.fromhex(r["refund_tx"])
    verify_and_mine(chain, r["funding_tx"])
    chain.verify_tx_scripts(refund, spent_outputs(chain, r["refund_tx"]))
    assert chain.median_time_past() < lock
    with pytest.raises(BlockRejected):
        chain.mine_block(txs=[refund], time=lock - 1)
    while chain.median_time_past() < lock:
        chain.mine_block(time=lock)
    assert chain.median_time_past() == lock
    tip = chain.tip_hash
    with pytest.raises(BlockRejected):
        chain.mine_block(txs=[refund], time=lock + 1)
    assert chain.tip_hash == tip
    while chain.median_time_past() == lock:
        chain.mine_block(time=lock + 1)
    verify_and_mine(chain, r["refund_tx"])


def test_oracle_rejects_a_payment_whose_signatures_are_swapped(chain):
    from embit.script import Witness
    from streamium_server.devnet.chain import ScriptRejected

    r = run_on_chain(chain, "close")
    verify_and_mine(chain, r["funding_tx"])
    tx = txs.parse_tx(r["closing_tx"], "")
    empty, sig1, sig2, script = tx.vin[0].witness.items
    tx.vin[0].witness = Witness([empty, sig2, sig1, script])
    with pytest.raises(ScriptRejected):
        chain.verify_tx_scripts(tx.serialize(), spent_outputs(chain, r["closing_tx"]))


def test_sweep_of_coins_stranded_at_the_funding_address_is_valid_and_mines(chain):
    from app.channel.script import p2wpkh
    from .full_channel import START, Pair, change_address, channel_terms

    pair = Pair(channel_terms(), "sweep", START)
    v = pair.viewer
    pair.run("viewer", v.connected(START))
    pair.run("broadcaster", pair.broadcaster.start())
    pair.run("viewer", v.accept(100_000, change_address("regtest"), START))
    coins = fund_from_chain(chain)(v.funding_address, p2wpkh(v.key.sec()), 0)
    (sweep,) = v.sweep(coins, change_address("regtest"), START)
    verify_and_mine(chain, sweep.tx)
