"""Bitcoin Core 28's relay policy at its defaults: standardness, dust, relay fee
rates and mempool chain limits, with Core's reject reasons, so a transaction
the devnet takes is one signet, testnet4 and mainnet nodes take too.

Where Core 29+ is looser (a 0.1 sat/vB relay floor, larger OP_RETURN outputs,
TRUC and ephemeral dust) the devnet keeps 28's stricter rule: whatever passes
here passes there as well."""

from embit import compact
from embit.transaction import Transaction

from . import block, script

COIN = block.COIN
MIN_RELAY_FEERATE = 1_000  # sat/kvB, Core's -minrelaytxfee default (policy.h DEFAULT_MIN_RELAY_TX_FEE)
INCREMENTAL_RELAY_FEERATE = 1_000  # sat/kvB, -incrementalrelayfee (BIP125 rule 4)
DUST_RELAY_FEERATE = 3_000  # sat/kvB, -dustrelayfee
MAX_RAW_TX_FEERATE = 10_000_000  # sat/kvB: sendrawtransaction's maxfeerate default, 0.10 BTC/kvB
MAX_STANDARD_TX_WEIGHT = 400_000
MIN_STANDARD_TX_NONWITNESS_SIZE = 65  # CVE-2017-12842
MAX_STANDARD_SCRIPTSIG_SIZE = 1_650
MAX_OP_RETURN_RELAY = 83  # -datacarriersize default in Core 28
MAX_STANDARD_VERSION = 2  # Core 28 also relays version 3 (TRUC) under rules the devnet does not model
ANCESTOR_LIMIT = 25  # -limitancestorcount
ANCESTOR_SIZE_LIMIT = 101_000  # -limitancestorsize, vB
DESCENDANT_LIMIT = 25  # -limitdescendantcount
DESCENDANT_SIZE_LIMIT = 101_000  # -limitdescendantsize, vB
EXTRA_DESCENDANT_TX_SIZE_LIMIT = 10_000  # the CPFP carve-out's size, vB
MAX_REPLACEMENT_CANDIDATES = 100  # BIP125 rule 5

# sendrawtransaction's JSON-RPC error codes (Core's rpc/protocol.h)
RPC_DESERIALIZATION_ERROR = -22
RPC_TRANSACTION_ERROR = -25
RPC_TRANSACTION_REJECTED = -26
RPC_VERIFY_ALREADY_IN_UTXO_SET = -27


class TxRejected(Exception):
    """Core refused the transaction: its reject reason, its debug text, and the RPC error code.

    `str()` is what sendrawtransaction puts in the error message (ValidationState::ToString).
    """

    def __init__(self, reason: str, debug: str = "", code: int = RPC_TRANSACTION_REJECTED):
        self.reason, self.debug, self.code = reason, debug, code
        super().__init__(f"{reason}, {debug}" if debug else reason)


def fee_at(feerate_sat_kvb: int, vsize: int) -> int:
    """Core's CFeeRate::GetFee: rounded up, and never 0 for a non-empty size."""
    fee = -(-feerate_sat_kvb * vsize // 1000)
    return max(fee, 1) if vsize and feerate_sat_kvb > 0 else fee


def feerate_of(fee: int, vsize: int) -> int:
    """Core's CFeeRate(fee, size): sat per 1000 vB, rounded down."""
    return fee * 1000 // vsize if vsize > 0 else 0


def format_money(sats: int) -> str:
    """Core's FormatMoney: BTC with trailing zeros trimmed, at least two decimals."""
    text = f"{'-' if sats < 0 else ''}{abs(sats) // COIN}.{abs(sats) % COIN:08d}"
    while text.endswith("0") and text[-3].isdigit():
        text = text[:-1]
    return text


def format_feerate(sat_kvb: int) -> str:
    """Core's CFeeRate::ToString."""
    return f"{sat_kvb // COIN}.{sat_kvb % COIN:08d} BTC/kvB"


def dust_threshold(script_pubkey: bytes) -> int:
    """Core's GetDustThreshold at the default dust relay fee (294 sat for P2WPKH, 546 for P2PKH)."""
    if script.is_unspendable(script_pubkey):
        return 0
    size = 8 + len(compact.to_bytes(len(script_pubkey))) + len(script_pubkey)
    size += 32 + 4 + 1 + (107 // 4 if script.witness_program(script_pubkey) else 107) + 4
    return fee_at(DUST_RELAY_FEERATE, size)


def check_standard(tx: Transaction) -> None:
    """Core's IsStandardTx, then the tx-size-small rule; raises TxRejected."""
    if not 1 <= tx.version <= MAX_STANDARD_VERSION:
        debug = "TRUC (version 3) rules are not modelled on the devnet" if tx.version == 3 else ""
        raise TxRejected("version", debug)
    if block.weight(tx) > MAX_STANDARD_TX_WEIGHT:
        raise TxRejected("tx-size")
    for inp in tx.vin:
        if len(inp.script_sig.data) > MAX_STANDARD_SCRIPTSIG_SIZE:
            raise TxRejected("scriptsig-size")
        if not script.is_push_only(inp.script_sig.data):
            raise TxRejected("scriptsig-not-pushonly")
    data_outputs = 0
    for out in tx.vout:
        spk = out.script_pubkey.data
        kind, m, n = script.solve(spk)
        if kind == script.NONSTANDARD or (kind == script.MULTISIG and not (1 <= m <= n <= 3)) \
                or (kind == script.NULL_DATA and len(spk) > MAX_OP_RETURN_RELAY):
            raise TxRejected("scriptpubkey")
        if kind == script.NULL_DATA:
            data_outputs += 1
        elif out.value < dust_threshold(spk):
            raise TxRejected("dust")
    if data_outputs > 1:
        raise TxRejected("multi-op-return")
    if block.base_size(tx) < MIN_STANDARD_TX_NONWITNESS_SIZE:
        raise TxRejected("tx-size-small")
