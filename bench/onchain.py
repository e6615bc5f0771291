#!/usr/bin/env python3
"""On-chain cost of one channel: vbytes of T1 + closing T3 (and T2), versus the 2015 design.

Streamium: T1 spends one P2WPKH coin into the P2WSH 2-of-2 channel output (no change,
the exact funding amount); T3 pays the broadcaster and returns the change (two P2WPKH
outputs); T2 is the time-locked refund. All built by app.channel with real signatures
(tests/channel/full_channel.py drives a whole channel in memory).

The 2015 way (the same channel before SegWit): T1 spends one legacy P2PKH coin into a
P2SH 2-of-2 multisig output; T3 and T2 spend it with `OP_0 <sig1> <sig2> <redeemScript>`
to P2PKH outputs (the only output types of the time). embit builds and signs them.

Every transaction, both designs, is checked by Bitcoin Core's script interpreter
(KernelChain.verify_tx_scripts, all consensus flags), so the sizes are of valid spends.
Each run uses fresh keys, so DER signature lengths (70-72 bytes) vary between runs.

    .venv/bin/python bench/onchain.py [--runs 5] [--tiny]
"""

import tempfile

from common import emit, parser, row  # noqa: E402  (sets sys.path)

from embit import ec
from embit.script import Script, multisig, p2pkh, p2sh
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

from streamium_server.devnet.chain import KernelChain
from tests.channel.full_channel import key_secret, run_full_channel

TARGET = 0.6


def vsize(raw: bytes) -> int:
    tx = Transaction.parse(raw)
    base = len(Transaction(tx.version, [TransactionInput(i.txid, i.vout, i.script_sig, i.sequence) for i in tx.vin],
                           tx.vout, tx.locktime).serialize())
    weight = 3 * base + len(raw)
    return -(-weight // 4)


def streamium(seed: str, chain: KernelChain) -> dict:
    r = run_full_channel("close", payments=5, seed=seed)
    t1, t3, t2 = (bytes.fromhex(r[k]) for k in ("funding_tx", "closing_tx", "refund_tx"))
    funding_spk = bytes.fromhex(r["funding_script"])
    chain.verify_tx_scripts(t1, [(funding_spk, r["funding_amount"])])
    channel_spk = Transaction.parse(t1).vout[0].script_pubkey.data
    chain.verify_tx_scripts(t3, [(channel_spk, r["value"])])
    chain.verify_tx_scripts(t2, [(channel_spk, r["value"])])
    return {"T1": vsize(t1), "T3": vsize(t3), "T2": vsize(t2)}


def legacy_2015(seed: str, chain: KernelChain) -> dict:
    """The same channel, 2015 style: P2PKH -> P2SH 2-of-2 -> P2PKH outputs, all signed."""
    k = {role: ec.PrivateKey(key_secret(seed, "2015/" + role)) for role in ("coin", "k1", "k2", "payout", "change")}
    pub = {role: key.get_public_key() for role, key in k.items()}
    coin_spk, value_in, fee = p2pkh(pub["coin"]), 200_800, 800
    redeem = multisig(2, [pub["k1"], pub["k2"]])
    channel_spk, value = p2sh(redeem), value_in - fee

    t1 = Transaction(1, [TransactionInput(bytes(32), 1)], [TransactionOutput(value, channel_spk)], 0)
    sig = k["coin"].sign(t1.sighash_legacy(0, coin_spk)).serialize() + bytes([SIGHASH.ALL])
    t1.vin[0].script_sig = Script(bytes([len(sig)]) + sig + bytes([33]) + pub["coin"].sec())
    chain.verify_tx_scripts(t1.serialize(), [(coin_spk.data, value_in)])

    def spend(outputs, locktime=0, sequence=0xFFFFFFFF):
        tx = Transaction(1, [TransactionInput(t1.txid(), 0, sequence=sequence)],
                         [TransactionOutput(v, s) for v, s in outputs], locktime)
        digest = tx.sighash_legacy(0, redeem)
        sigs = [k[r].sign(digest).serialize() + bytes([SIGHASH.ALL]) for r in ("k1", "k2")]
        push_redeem = redeem.data
        push = b"\x4c" + bytes([len(push_redeem)]) if len(push_redeem) > 75 else bytes([len(push_redeem)])
        tx.vin[0].script_sig = Script(b"\x00" + b"".join(bytes([len(s)]) + s for s in sigs) + push + push_redeem)
        chain.verify_tx_scripts(tx.serialize(), [(channel_spk.data, value)])
        return vsize(tx.serialize())

    t3 = spend([(50_000, p2pkh(pub["payout"])), (value - 50_000 - 1000, p2pkh(pub["change"]))])
    t2 = spend([(value - 1000, p2pkh(pub["change"]))], locktime=1_700_003_600, sequence=0xFFFFFFFE)
    return {"T1": vsize(t1.serialize()), "T3": t3, "T2": t2}


def main():
    args = parser(__doc__).parse_args()
    runs = 5 if args.tiny else args.runs
    new, old = [], []
    with tempfile.TemporaryDirectory() as tmp:
        chain = KernelChain(tmp)
        try:
            for i in range(runs):
                new.append(streamium(f"bench-onchain-{i}", chain))
                old.append(legacy_2015(f"bench-onchain-{i}", chain))
        finally:
            chain.close()
    per_channel = [n["T1"] + n["T3"] for n in new]
    per_channel_2015 = [o["T1"] + o["T3"] for o in old]
    ratios = [a / b for a, b in zip(per_channel, per_channel_2015)]
    rows = [
        row("T1 funding (1 P2WPKH in, P2WSH out)", [n["T1"] for n in new], "vB", fmt="{:.0f}"),
        row("T3 closing (payout + change, P2WPKH)", [n["T3"] for n in new], "vB", fmt="{:.0f}"),
        row("T1 + T3 per channel", per_channel, "vB", fmt="{:.0f}"),
        row("T2 refund (only if the broadcaster vanishes)", [n["T2"] for n in new], "vB", fmt="{:.0f}"),
        row("2015: T1 (P2PKH in, P2SH 2-of-2 out)", [o["T1"] for o in old], "vB", fmt="{:.0f}"),
        row("2015: T3 (P2SH multisig spend, 2 P2PKH out)", [o["T3"] for o in old], "vB", fmt="{:.0f}"),
        row("2015: T1 + T3 per channel", per_channel_2015, "vB", fmt="{:.0f}"),
        row("2015: T2 refund", [o["T2"] for o in old], "vB", fmt="{:.0f}"),
        row("per-channel ratio Streamium / 2015", ratios, "×", target=f"≤ {TARGET}",
            met=max(ratios) <= TARGET, fmt="{:.3f}"),
    ]
    emit(args, rows, "All transactions of both designs passed Bitcoin Core's script verification "
                     "(py-bitcoinkernel, all consensus flags).")


if __name__ == "__main__":
    main()
