"""Fixtures for the channel tests: a broadcaster facing hand-made viewer messages,
and the consensus oracle (libbitcoinkernel through the devnet's KernelChain)."""

import pytest
from embit.script import Script, Witness

from app.channel import Broadcaster, resume
from app.channel import transactions as txs
from app.channel.addresses import address_script
from app.channel.channel import Channel
from app.channel.messages import message
from app.channel.script import p2wsh, witness_script
from app.channel.signatures import private_key

from .full_channel import START, change_address, key_secret, channel_terms


class Proposal:
    """What an honest viewer would send a broadcaster, made by hand so tests can bend it."""

    def __init__(self, broadcaster: Broadcaster, now: int = START, capacity: int = 100_000, seed="proposal"):
        self.broadcaster, self.now = broadcaster, now
        offer = broadcaster.offer
        self.key = private_key(key_secret(seed, "k1"))
        self.change_address = change_address(offer.terms.network)
        self.change_script = address_script(self.change_address, offer.terms.network)
        self.channel_script = p2wsh(witness_script(self.key.sec(), bytes.fromhex(offer.channel_pubkey)))
        amount = txs.funding_amount(capacity, offer.terms.fee_rate_sat_vb)
        self.coins = [txs.Utxo(key_secret(seed, "coin").hex(), 0, amount)]
        self.funding_tx = self.signed_funding(self.channel_script)
        self.channel = self.channel_for(self.funding_tx)

    def signed_funding(self, channel_script: bytes, capacity: int = 100_000):
        tx = txs.funding_tx(self.coins, channel_script, capacity, self.change_script,
                            self.broadcaster.offer.terms.fee_rate_sat_vb)
        return txs.sign_funding(tx, self.coins, self.key)

    def channel_for(self, funding_tx, value=None) -> Channel:
        terms = self.broadcaster.offer.terms
        return Channel(self.broadcaster.offer, self.key.sec().hex(), txs.Outpoint(txs.txid(funding_tx), 0),
                       value or funding_tx.vout[0].value, self.change_address, self.now + terms.refund_lock_s)

    def open(self, refund=None, channel=None, **overrides) -> dict:
        ch = channel or self.channel
        fields = dict(viewer_pubkey=ch.viewer_pubkey,
                      funding={"txid": ch.funding.txid, "vout": ch.funding.vout, "value": ch.value},
                      change_address=ch.change_address, refund_tx=txs.tx_hex(refund or ch.refund_tx()))
        fields.update(overrides)
        return message("open", **fields)

    def commit(self, funding_tx=None) -> dict:
        return message("commit", funding_tx=txs.tx_hex(funding_tx or self.funding_tx))

    def resume(self, at: int, key=None) -> dict:
        """A `resume` at `at`, signed by K1 or, to forge one, by another `key`."""
        ch = self.channel
        sig = resume.signature(key or self.key, ch.funding.txid, ch.viewer_pubkey,
                               self.broadcaster.offer.channel_pubkey, at)
        return message("resume", funding_txid=ch.funding.txid, viewer_pubkey=ch.viewer_pubkey, at=at, sig=sig)

    def pay(self, amount: int, sig: str = None) -> dict:
        ch = self.channel
        return message("pay", amount=amount, sig=sig or ch.sign(self.key, ch.payment_tx(amount)))

    def legacy_funding(self):
        """T1 whose input is spent with a scriptSig instead of a witness (txid depends on it)."""
        tx = self.signed_funding(self.channel_script)
        tx.vin[0].script_sig, tx.vin[0].witness = Script(b"\x00" + bytes(20)), Witness([])
        return tx


@pytest.fixture
def broadcaster():
    b = Broadcaster.new(channel_terms(), key_secret("checks", "identity"), key_secret("checks", "k2"))
    b.start()
    return b


@pytest.fixture
def proposal(broadcaster):
    return Proposal(broadcaster)


def bring_to(b: Broadcaster, p: Proposal, state: str, confirmations: int = 1) -> None:
    """Drive the broadcaster with honest messages, and an honest chain, until it is in `state`
    (with T1 that many confirmations deep once open)."""
    steps = {"refund_signed": 1, "open": 3}
    assert b.receive(p.open(), p.now)[-1].message["type"] == "refund_sig"
    if steps[state] > 1:
        b.receive(p.commit(), p.now)
        b.funding_inputs([c.value for c in p.coins], p.now)
        b.tx_accepted(p.channel.funding.txid, p.now)
        b.tx_confirmations(p.channel.funding.txid, confirmations, p.now)
    assert b.state == state


@pytest.fixture
def open_broadcaster(broadcaster, proposal):
    bring_to(broadcaster, proposal, "open")
    return broadcaster


# ---- consensus oracle --------------------------------------------------------

@pytest.fixture
def chain(tmp_path):
    from streamium_server.devnet.chain import KernelChain

    kernel = KernelChain(tmp_path / "kernel")
    yield kernel
    kernel.close()


def fund_from_chain(chain):
    """A `fund` callback for run_full_channel: a coinbase pays the funding script, matured."""

    def fund(address, script_pubkey, amount):
        mined = chain.mine_block(coinbase_script=script_pubkey)
        for _ in range(100):
            chain.mine_block()
        return [{"txid": mined.coinbase_txid, "vout": 0, "value": mined.coinbase_value}]

    return fund
