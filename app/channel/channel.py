"""The channel both sides agree on once `open` is accepted, and its T2/T3 with signatures.

Both sides build a `Channel` from keys and terms they checked themselves, never from
a script or transaction the peer sent, so their T2 and T3 bytes are the same.
"""

from dataclasses import dataclass, field

from embit.transaction import Transaction

from .addresses import address_script, dust
from .errors import ProtocolError, BAD_FUNDING, BAD_MESSAGE
from .offer import Offer
from .script import witness_script, p2wsh
from .signatures import public_key, sign, verify
from . import transactions as txs


@dataclass(frozen=True)
class Channel:
    offer: Offer
    viewer_pubkey: str  # K1, hex
    funding: txs.Outpoint
    value: int
    change_address: str
    lock_time: int  # L
    witness_script: bytes = field(init=False)
    payout_script: bytes = field(init=False)
    change_script: bytes = field(init=False)
    close_fee: int = field(init=False)

    def __post_init__(self):
        terms = self.offer.terms
        k1, k2 = bytes.fromhex(self.viewer_pubkey), bytes.fromhex(self.offer.channel_pubkey)
        public_key(k1, BAD_FUNDING)
        if k1 == k2:
            raise ProtocolError(BAD_FUNDING, "viewer key must differ from the channel key")
        if self.value < terms.min_deposit_sat:
            raise ProtocolError(BAD_FUNDING, f"funding value is below min_deposit_sat {terms.min_deposit_sat}")
        try:
            change = address_script(self.change_address, terms.network)
        except ProtocolError as e:
            raise ProtocolError(BAD_FUNDING, "change_address: " + e.message)
        fee = txs.close_fee(terms.payout_script, change, terms.fee_rate_sat_vb)
        set_ = object.__setattr__
        set_(self, "witness_script", witness_script(k1, k2))
        set_(self, "payout_script", terms.payout_script)
        set_(self, "change_script", change)
        set_(self, "close_fee", fee)
        if self.max_amount < max(terms.min_payment_sat, dust(change)):
            raise ProtocolError(BAD_FUNDING, "funding value leaves no room for a payment after the close fee")

    @property
    def funding_script(self) -> bytes:
        return p2wsh(self.witness_script)

    @property
    def max_amount(self) -> int:
        """The largest cumulative payment: everything but the close fee."""
        return self.value - self.close_fee

    @property
    def settle_at(self) -> int:
        """When the broadcaster closes at the latest: L - settle_margin_s."""
        return self.lock_time - self.offer.terms.settle_margin_s

    def refund_tx(self) -> Transaction:
        terms = self.offer.terms
        return txs.refund_tx(self.funding, self.value, self.change_script, self.lock_time, terms.fee_rate_sat_vb)

    def payment_tx(self, amount: int) -> Transaction:
        return txs.payment_tx(self.funding, self.value, amount, self.payout_script, self.change_script, self.close_fee)

    def sighash(self, tx: Transaction) -> bytes:
        return txs.multisig_sighash(tx, self.witness_script, self.value)

    def sign(self, key, tx: Transaction) -> str:
        return sign(key, self.sighash(tx)).hex()

    def verify(self, pubkey_hex: str, sig_hex: str, tx: Transaction, code: str) -> None:
        """Raise ProtocolError(code) unless `sig_hex` is a strict SIGHASH_ALL signature of `tx`."""
        pub = public_key(bytes.fromhex(pubkey_hex), BAD_MESSAGE)
        verify(pub, bytes.fromhex(sig_hex), self.sighash(tx), code)

    def complete(self, tx: Transaction, sig1: str, sig2: str) -> Transaction:
        """The spend with both signatures, ready to broadcast."""
        return txs.complete_multisig(tx, bytes.fromhex(sig1), bytes.fromhex(sig2), self.witness_script)

    def to_record(self) -> dict:
        return {
            "viewer_pubkey": self.viewer_pubkey,
            "funding": {"txid": self.funding.txid, "vout": self.funding.vout, "value": self.value},
            "change_address": self.change_address,
            "lock_time": self.lock_time,
        }

    @classmethod
    def from_record(cls, offer: Offer, rec: dict) -> "Channel":
        f = rec["funding"]
        return cls(offer, rec["viewer_pubkey"], txs.Outpoint(f["txid"], f["vout"]), f["value"],
                   rec["change_address"], rec["lock_time"])
