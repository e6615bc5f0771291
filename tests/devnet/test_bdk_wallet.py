"""A real Esplora wallet nobody here wrote against the devnet: BDK (bdkpython, the
Bitcoin Dev Kit's Python bindings over rust-esplora-client) scans, receives faucet
coins, spends with TxBuilder, bumps the fee by replacement and sees confirmations,
talking to serve.py over HTTP as it would to blockstream.info or mempool.space."""

import json
import urllib.request

import bdkpython as bdk
import pytest

from tests.conftest import ServerProcess

ELSEWHERE = "bcrt1qar0srrr7xfkvy5l643lydnw9re59gtzzxxk9p6"


@pytest.fixture(scope="module")
def devnet_url(tmp_path_factory):
    """serve.py with a devnet that mines only when asked."""
    server = ServerProcess("--block-interval", "3600", data_dir=tmp_path_factory.mktemp("bdk") / "data").start()
    yield server.url + "/api"
    server.stop()


def control(url, path, payload):
    request = urllib.request.Request(url + path, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def new_wallet(seed: int) -> bdk.Wallet:
    secret = bdk.DescriptorSecretKey(bdk.NetworkKind.TEST, bdk.Mnemonic.from_entropy(bytes([seed]) * 16), None)
    external = bdk.Descriptor.new_bip84(secret, bdk.KeychainKind.EXTERNAL, bdk.NetworkKind.TEST)
    internal = bdk.Descriptor.new_bip84(secret, bdk.KeychainKind.INTERNAL, bdk.NetworkKind.TEST)
    return bdk.Wallet(external, internal, bdk.Network.REGTEST, bdk.Persister.new_in_memory())


def sync(wallet: bdk.Wallet, client: bdk.EsploraClient) -> None:
    wallet.apply_update(client.sync(wallet.start_sync_with_revealed_spks().build(), 2))


def funded_wallet(url, client, seed, amount=1_000_000) -> bdk.Wallet:
    wallet = new_wallet(seed)
    wallet.apply_update(client.full_scan(wallet.start_full_scan().build(), 10, 2))
    address = wallet.reveal_next_address(bdk.KeychainKind.EXTERNAL).address
    control(url, "/devnet/faucet", {"address": str(address), "amount_sat": amount})
    control(url, "/devnet/mine", {"blocks": 1})
    sync(wallet, client)
    return wallet


def spend(wallet, amount, fee_rate=2) -> bdk.Transaction:
    destination = bdk.Address(ELSEWHERE, bdk.Network.REGTEST).script_pubkey()
    psbt = (bdk.TxBuilder().add_recipient(destination, bdk.Amount.from_sat(amount))
            .fee_rate(bdk.FeeRate.from_sat_per_vb(fee_rate)).finish(wallet))
    assert wallet.sign(psbt)
    return psbt.extract_tx()


def test_a_bdk_wallet_scans_receives_spends_and_sees_its_spend_confirmed(devnet_url):
    client = bdk.EsploraClient(devnet_url)
    wallet = new_wallet(1)
    wallet.apply_update(client.full_scan(wallet.start_full_scan().build(), 10, 2))
    assert wallet.latest_checkpoint().height == client.get_height()
    assert wallet.balance().total.to_sat() == 0

    wallet = funded_wallet(devnet_url, client, 2)
    assert wallet.balance().confirmed.to_sat() == 1_000_000
    tx = spend(wallet, 300_000)
    client.broadcast(tx)
    sync(wallet, client)
    assert not client.get_tx_status(tx.compute_txid()).confirmed
    assert 0 < wallet.balance().trusted_pending.to_sat() < 700_000

    height = control(devnet_url, "/devnet/mine", {"blocks": 1})["height"]
    sync(wallet, client)
    status = client.get_tx_status(tx.compute_txid())
    assert status.confirmed and status.block_height == height
    assert wallet.balance().confirmed.to_sat() == 1_000_000 - 300_000 - wallet.calculate_fee(tx).to_sat()
    (mine,) = [t for t in wallet.transactions() if t.transaction.compute_txid() == tx.compute_txid()]
    assert mine.chain_position.confirmation_block_time.block_id.height == height


def test_a_bdk_fee_bump_replaces_the_unconfirmed_spend(devnet_url):
    client = bdk.EsploraClient(devnet_url)
    wallet = funded_wallet(devnet_url, client, 3)
    first = spend(wallet, 200_000)
    client.broadcast(first)
    sync(wallet, client)
    bumped = bdk.BumpFeeTxBuilder(first.compute_txid(), bdk.FeeRate.from_sat_per_vb(6)).finish(wallet)
    assert wallet.sign(bumped)
    second = bumped.extract_tx()
    client.broadcast(second)
    assert client.get_tx(first.compute_txid()) is None  # replaced: gone from the mempool
    assert not client.get_tx_status(first.compute_txid()).confirmed

    control(devnet_url, "/devnet/mine", {"blocks": 1})
    sync(wallet, client)
    assert client.get_tx_status(second.compute_txid()).confirmed
    confirmed = {t.transaction.compute_txid() for t in wallet.transactions()
                 if isinstance(t.chain_position, bdk.ChainPosition.CONFIRMED)}
    assert second.compute_txid() in confirmed and first.compute_txid() not in confirmed


def test_bdk_reads_blocks_headers_proofs_and_outputs(devnet_url):
    client = bdk.EsploraClient(devnet_url)
    wallet = funded_wallet(devnet_url, client, 4)
    tx = spend(wallet, 100_000)
    client.broadcast(tx)
    height = control(devnet_url, "/devnet/mine", {"blocks": 1})["height"]
    block_hash = client.get_block_hash(height)
    assert client.get_tip_hash() == block_hash
    block = client.get_block_by_hash(block_hash)
    assert [t.compute_txid() for t in block.txdata][1] == tx.compute_txid()
    assert client.get_header_by_hash(block_hash).merkle_root == block.header.merkle_root
    assert client.get_txid_at_block_index(block_hash, 1) == tx.compute_txid()
    assert client.get_txid_at_block_index(block_hash, 2) is None
    proof = client.get_merkle_proof(tx.compute_txid())
    assert proof.block_height == height and proof.pos == 1
    assert client.get_tx(tx.compute_txid()).compute_txid() == tx.compute_txid()
    assert client.get_tx_info(tx.compute_txid()).status.block_height == height
    assert client.get_output_status(tx.compute_txid(), 0).spent is False
    assert set(client.get_fee_estimates()) >= {1, 6, 144}
