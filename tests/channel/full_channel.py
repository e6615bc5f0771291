"""A whole channel between a Viewer and a Broadcaster in memory, for CPython and Pyodide.

Imports only app.channel, embit and the standard library: the browser test runs
this same file inside Pyodide. `run_full_channel` returns plain data (the
transactions built, the amounts paid, the final states) so callers can check the
result, e.g. against libbitcoinkernel.
"""

import hashlib
import json

from app.channel import Broadcaster, Terms, Viewer, build_link
from app.channel.actions import Broadcast, Closed, LookUpInputs, Persist, Send, StartMedia, StopMedia
from app.channel.signatures import private_key
from app.channel.addresses import script_address
from app.channel.script import p2wpkh

START = 1_700_000_000
ENDINGS = ("close", "unpaid", "exhausted", "expiring", "release", "refund")


def key_secret(seed: str, role: str) -> bytes:
    """A deterministic test key (never do this with real money)."""
    return hashlib.sha256(f"{seed}/{role}".encode()).digest()


def channel_terms(network="regtest", **overrides) -> Terms:
    payout = script_address(p2wpkh(private_key(key_secret("payout", "payout")).sec()), network)
    fields = dict(name="Test stream ✓", network=network, rate_sat_per_min=6000, payout_address=payout,
                  min_deposit_sat=20_000, min_payment_sat=294, fee_rate_sat_vb=2, refund_lock_s=3600,
                  pay_interval_s=5, prepay_s=15, grace_s=10)
    fields.update(overrides)
    return Terms(**fields)


def fake_coins(address: str, script_pubkey: bytes, amount: int) -> list:
    """Pretend the user paid exactly `amount` to the funding address."""
    return [{"txid": hashlib.sha256(script_pubkey).hexdigest(), "vout": 1, "value": amount}]


class Pair:
    """Runs actions between the two sides; the 'chain' accepts broadcasts when told to, and
    knows the coins `fund` made (for the broadcaster's look-up of T1's inputs)."""

    def __init__(self, terms: Terms, seed: str, now: int, metered: bool = False):
        self.coins = {}  # (txid, vout) -> value of every coin the "chain" knows
        self.now = now
        identity = key_secret(seed, "identity")
        link = build_link("https://streamium.test", "test stream", private_key(identity).sec().hex())
        self.viewer = Viewer.new(link, terms.network, key_secret(seed, "k1"), metered=metered)
        self.broadcaster = Broadcaster.new(terms, identity, key_secret(seed, "k2"), metered=metered)
        self.broadcasts = []  # (side, Broadcast)
        self.media = False
        self.closed = {}
        self.broadcaster_alive = True
        self.messages = 0

    def run(self, side, actions):
        """Carry out `actions` of `side` in order (messages are delivered as JSON text)."""
        for action in actions:
            if isinstance(action, Persist):
                cls = type(getattr(self, side))
                record = json.loads(json.dumps(action.record))
                assert cls.from_record(record).record() == record, "record does not round-trip"
            elif isinstance(action, Send) and self.broadcaster_alive:
                self.messages += 1
                other = "broadcaster" if side == "viewer" else "viewer"
                text = json.dumps(action.message, ensure_ascii=False)
                self.run(other, getattr(self, other).receive(text, self.now))
            elif isinstance(action, Broadcast):
                self.broadcasts.append((side, action))
            elif isinstance(action, LookUpInputs):
                values = [self.coins.get(point) for point in action.outpoints]
                self.run(side, self.broadcaster.funding_inputs(values, self.now))
            elif isinstance(action, (StartMedia, StopMedia)):
                self.media = isinstance(action, StartMedia)
            elif isinstance(action, Closed):
                self.closed[side] = action

    def confirm(self, side, broadcast: Broadcast):
        """The chain accepted `broadcast` and buried it at once: tell both sides what they would see.

        T1 gets one confirmation; a spend of the channel output six, so both sides end
        `closed`. The viewer learns of the spend from the chain (as the glue does from
        Esplora's `/tx/:txid/outspend/:vout`), never from the broadcaster's `closed` message.
        """
        b, v = self.broadcaster, self.viewer
        self.run("broadcaster", b.tx_accepted(broadcast.txid, self.now))
        if v.channel and broadcast.txid == v.channel.funding.txid:
            self.run("broadcaster", b.tx_confirmations(broadcast.txid, 1, self.now))
        elif v.channel:
            self.run("broadcaster", b.funding_spent(broadcast.txid, self.now))
            self.run("broadcaster", b.tx_confirmations(broadcast.txid, 6, self.now))
            self.run("viewer", v.funding_spent(broadcast.txid, self.now))
            self.run("viewer", v.spend_confirmations(broadcast.txid, 6, self.now))

    def confirm_pending(self):
        done = len(self._confirmed) if hasattr(self, "_confirmed") else 0
        self._confirmed = list(self.broadcasts)
        for side, b in self.broadcasts[done:]:
            if b.not_before is None or b.not_before <= self.now:
                self.confirm(side, b)

    def step(self, seconds=1, video=True):
        self.now += seconds
        if video and self.media:
            self.viewer.received_video(seconds)
        self.run("viewer", self.viewer.tick(self.now))
        if self.broadcaster_alive:
            self.run("broadcaster", self.broadcaster.tick(self.now))
        self.confirm_pending()


def open_channel(pair: Pair, capacity: int, fund) -> dict:
    v = pair.viewer
    pair.run("viewer", v.connected(pair.now))
    pair.run("broadcaster", pair.broadcaster.start())
    assert v.state == "joining" and v.offer is not None
    pair.run("viewer", v.accept(capacity, change_address(v.network), pair.now))
    amount = v.funding_amount(capacity)
    spk = p2wpkh(v.key.sec())
    coins = fund(v.funding_address, spk, amount)
    pair.coins.update({(c["txid"], c["vout"]): c["value"] for c in coins})
    pair.run("viewer", v.funded(coins, pair.now))
    assert v.state == "refund_signed" and pair.broadcaster.state == "refund_signed", (v.state, pair.broadcaster.state)
    return {"funding_amount": amount, "funding_script": spk.hex()}


def watching(seed: str, seconds: int, **terms) -> Pair:
    """A video channel opened, funded, confirmed and watched for `seconds`, one at a time."""
    pair = Pair(channel_terms(**terms), seed, START)
    open_channel(pair, 100_000, fake_coins)
    pair.confirm_pending()
    for _ in range(seconds):
        pair.step(1)
    return pair


def change_address(network: str) -> str:
    return script_address(p2wpkh(private_key(key_secret("change", "change")).sec()), network)


def run_full_channel(ending="close", payments=20, fund=fake_coins, now=START, seed="full", **terms) -> dict:
    """Offer, open, refund, commit, payments, then end the way `ending` names (see ENDINGS)."""
    assert ending in ENDINGS
    if ending == "exhausted":
        terms.setdefault("min_deposit_sat", 5_000)
    if ending == "expiring":
        terms.setdefault("rate_sat_per_min", 600)
        terms.setdefault("refund_lock_s", 1200)
    pair = Pair(channel_terms(**terms), seed, now)
    capacity = 5_000 if ending == "exhausted" else 200_000
    result = open_channel(pair, capacity, fund)
    v, b = pair.viewer, pair.broadcaster
    if ending == "release":
        pair.run("viewer", v.close(pair.now))
    else:
        pair.confirm_pending()  # T1 accepted: commit_ack, first payment, media
        assert v.state == b.state == "open" and pair.media
    paid = [b.amount] if b.amount else []
    if ending == "refund":
        pair.broadcaster_alive = pair.media = False
    while v.state != "closed" and pair.now < v.channel.lock_time + 120:
        if ending in ("close", "unpaid") and len(paid) >= payments:
            break
        pair.step()
        if b.amount and b.amount != paid[-1]:
            paid.append(b.amount)
    if ending == "close":
        pair.run("viewer", v.close(pair.now))
    while v.state != "closed" and pair.now < v.channel.lock_time + 120:
        pair.step(video=False)
    result.update(
        viewer_state=v.state, broadcaster_state=b.state, payments=paid, amount=b.amount,
        messages=pair.messages, closed={k: (c.reason, c.txid) for k, c in pair.closed.items()},
        funding_tx=v.funding_tx, refund_tx=v.refund_tx, release_tx=v.release_tx,
        closing_tx=b.closing_tx, lock_time=v.channel.lock_time, value=v.channel.value,
        funding_txid=v.channel.funding.txid, witness_script=v.channel.witness_script.hex(),
        max_amount=v.channel.max_amount, settle_at=v.channel.settle_at, end_time=pair.now,
        broadcasts=[(side, bc.txid, bc.not_before) for side, bc in pair.broadcasts],
    )
    return result


if __name__ == "__main__":
    for e in ENDINGS:
        r = run_full_channel(e)
        print(e, r["viewer_state"], r["broadcaster_state"], len(r["payments"]), r["closed"])
