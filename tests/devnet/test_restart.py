from streamium_server.devnet import Devnet
from streamium_server.devnet.index import scripthash
from streamium_server.devnet.wallet import Key, Prevout

ELSEWHERE = bytes.fromhex("0014" + "22" * 20)


def test_reopening_keeps_height_utxos_index_mempool_and_clock(tmp_path):
    devnet = Devnet(tmp_path, block_interval=3600)
    key = Key()
    funding = devnet.send_from_faucet(key.address, 10**8)
    devnet.mine(1, advance_s=60)
    outputs = devnet.index.outputs_of(scripthash(key.script_pubkey))
    pending = key.spend([Prevout(funding, outputs[0].vout, 10**8)], [(ELSEWHERE, 10**8 - 500)])
    devnet.submit(pending.serialize())
    before = (devnet.chain.height, devnet.chain.tip_hash, devnet.chain.coins(), devnet.faucet.address,
              devnet.index.tx(funding), list(devnet.mempool.entries), devnet.time_offset)
    devnet.close()

    reopened = Devnet(tmp_path, block_interval=3600)
    try:
        after = (reopened.chain.height, reopened.chain.tip_hash, reopened.chain.coins(), reopened.faucet.address,
                 reopened.index.tx(funding), list(reopened.mempool.entries), reopened.time_offset)
        assert after == before
        assert reopened.mine(1)[0].height == before[0] + 1
        assert reopened.index.output(funding, outputs[0].vout).spent_txid == pending.txid().hex()
    finally:
        reopened.close()


def test_lost_index_is_rebuilt_from_kernel_blocks(tmp_path):
    devnet = Devnet(tmp_path)
    txid = devnet.send_from_faucet(Key().address, 10**8)
    devnet.mine(1)
    devnet.close()
    (tmp_path / "index.sqlite").unlink()
    reopened = Devnet(tmp_path)
    try:
        assert reopened.index.tx(txid)[1].height == 111
    finally:
        reopened.close()


def test_reset_starts_a_new_chain(tmp_path):
    devnet = Devnet(tmp_path)
    devnet.mine(5)
    old_faucet = devnet.faucet.address
    devnet.close()
    fresh = Devnet(tmp_path, reset=True)
    try:
        assert fresh.chain.height == 110 and fresh.faucet.address != old_faucet
    finally:
        fresh.close()
