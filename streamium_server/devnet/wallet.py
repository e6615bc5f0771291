"""Single-key P2WPKH signing: enough wallet for the devnet faucet (and for
tests that need real spends) without pulling in a wallet library."""

import secrets
from dataclasses import dataclass

from embit import ec
from embit.networks import NETWORKS
from embit.script import Script, Witness, p2pkh, p2wpkh
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

REGTEST = NETWORKS["regtest"]


@dataclass(frozen=True)
class Prevout:
    txid: str  # display order
    vout: int
    value: int


class Key:
    def __init__(self, secret: bytes | None = None):
        self.private = ec.PrivateKey(secret or secrets.token_bytes(32))
        self.public = self.private.get_public_key()

    @property
    def secret(self) -> bytes:
        return self.private.secret

    @property
    def script_pubkey(self) -> bytes:
        return p2wpkh(self.public).data

    @property
    def address(self) -> str:
        return p2wpkh(self.public).address(REGTEST)

    def spend(
        self,
        prevouts: list[Prevout],
        outputs: list[tuple[bytes, int]],
        *,
        locktime: int = 0,
        sequence: int = 0xFFFFFFFD,
        version: int = 2,
    ) -> Transaction:
        """A signed tx spending this key's P2WPKH `prevouts` to (script, value) outputs."""
        tx = Transaction(
            version=version,
            vin=[TransactionInput(bytes.fromhex(p.txid), p.vout, sequence=sequence) for p in prevouts],
            vout=[TransactionOutput(value, Script(script)) for script, value in outputs],
            locktime=locktime,
        )
        script_code = p2pkh(self.public)
        for index, prev in enumerate(prevouts):
            digest = tx.sighash_segwit(index, script_code, prev.value, SIGHASH.ALL)
            signature = self.private.sign(digest).serialize() + bytes([SIGHASH.ALL])
            tx.vin[index].witness = Witness([signature, self.public.sec()])
        return tx
