import pytest

from streamium_server.devnet.block import block_subsidy
from streamium_server.devnet.chain import BlockRejected, KernelChain, ScriptRejected
from streamium_server.devnet.wallet import Key, Prevout


@pytest.fixture
def chain(tmp_path):
    chain = KernelChain(tmp_path / "kernel")
    yield chain
    chain.close()


def fund(chain, key):
    """Mine a coinbase to `key` and mature it; returns the coinbase prevout."""
    mined = chain.mine_block(coinbase_script=key.script_pubkey)
    for _ in range(100):
        chain.mine_block()
    return Prevout(mined.coinbase_txid, 0, mined.coinbase_value)


def test_mine_block_extends_tip_with_subsidy(chain):
    assert chain.height == 0
    mined = chain.mine_block()
    assert (chain.height, chain.tip_hash) == (1, mined.hash)
    assert mined.coinbase_value == block_subsidy(1) == 50 * 10**8
    assert chain.tip_time() == mined.time > chain.block_time(0)
    assert chain.coin(mined.coinbase_txid, 0).is_coinbase


def test_median_time_past_is_median_of_last_eleven(chain):
    start = chain.median_time_past() + 1
    for i in range(11):
        chain.mine_block(time=start + i * 10)
    assert chain.median_time_past() == start + 50


def test_block_time_not_above_mtp_is_rejected(chain):
    chain.mine_block()
    with pytest.raises(BlockRejected, match="time-too-old"):
        chain.mine_block(time=chain.median_time_past())
    assert chain.height == 1


def test_block_with_double_spend_is_rejected_and_chain_unchanged(chain):
    key = Key()
    prev = fund(chain, key)
    first = key.spend([prev], [(key.script_pubkey, prev.value - 1000)])
    second = key.spend([prev], [(key.script_pubkey, prev.value - 2000)])
    height, tip = chain.height, chain.tip_hash
    with pytest.raises(BlockRejected, match="kernel rejected block"):
        chain.mine_block([first.serialize(), second.serialize()])
    assert (chain.height, chain.tip_hash) == (height, tip)
    mined = chain.mine_block([first.serialize()])
    assert mined.coinbase_value == block_subsidy(mined.height) + 1000
    assert chain.coin(prev.txid, 0) is None


def test_block_spending_immature_coinbase_is_rejected(chain):
    key = Key()
    mined = chain.mine_block(coinbase_script=key.script_pubkey)
    tx = key.spend([Prevout(mined.coinbase_txid, 0, mined.coinbase_value)], [(key.script_pubkey, 10**8)])
    with pytest.raises(BlockRejected, match="premature-spend-of-coinbase"):
        chain.mine_block([tx.serialize()])
    assert chain.height == 1


def test_verify_tx_scripts_accepts_valid_p2wpkh_spend(chain):
    key = Key()
    tx = key.spend([Prevout("11" * 32, 0, 10**8)], [(key.script_pubkey, 10**8 - 500)])
    chain.verify_tx_scripts(tx.serialize(), [(key.script_pubkey, 10**8)])


def test_verify_tx_scripts_rejects_signature_for_other_amount(chain):
    key = Key()
    tx = key.spend([Prevout("11" * 32, 0, 10**8)], [(key.script_pubkey, 10**8 - 500)])
    with pytest.raises(ScriptRejected, match="input 0: .*segwit v0 witness fails"):
        chain.verify_tx_scripts(tx.serialize(), [(key.script_pubkey, 10**8 + 1)])


def test_verify_tx_scripts_rejects_signature_by_other_key(chain):
    key, other = Key(), Key()
    tx = other.spend([Prevout("11" * 32, 0, 10**8)], [(key.script_pubkey, 10**8 - 500)])
    with pytest.raises(ScriptRejected, match="input 0"):
        chain.verify_tx_scripts(tx.serialize(), [(key.script_pubkey, 10**8)])


def test_reopening_data_dir_keeps_height_and_coins(tmp_path):
    chain = KernelChain(tmp_path / "kernel")
    mined = [chain.mine_block() for _ in range(3)]
    tip = chain.tip_hash
    chain.close()
    reopened = KernelChain(tmp_path / "kernel")
    try:
        assert (reopened.height, reopened.tip_hash) == (3, tip)
        assert reopened.coin(mined[0].coinbase_txid, 0).value == mined[0].coinbase_value
        assert reopened.mine_block().height == 4
    finally:
        reopened.close()
