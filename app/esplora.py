"""A client for any Esplora REST API (mempool.space, blockstream.info, electrs, the devnet),
written to the API as those servers really answer it (electrs' `src/rest.rs`, mempool's
`bitcoin.routes.ts`), not as we would like them to:

- any 2xx is success: mempool.space serves /fee-estimates with 203 and a warning header;
- "does the chain know this tx?" is asked of /tx/:txid, which really 404s. electrs answers
  /tx/:txid/status with 200 {"confirmed": false} and /tx/:txid/outspend/:n with 200
  {"spent": false} for things it has never seen;
- a refused broadcast is a `TxRefused` with the node's own reason, never success; a 4xx
  that is not the node's refusal (a proxy failing) is a plain ChainApiError, worth retrying;
- 429, 5xx and an unreachable server are transient: retried with exponential backoff and
  jitter (honouring Retry-After), with a message for the user while it waits, then
  `ChainApiUnavailable`. Other 4xx answers are final.

The transport and the clock are passed in (the page's fetch in Pyodide, aiohttp in tests),
so this module does no I/O of its own. Every answer is checked before use: a chain API is a
server we do not control, and a wrong number here moves money. Whatever it answers, the
caller gets a value that passed the checks or a ChainApiError, never another exception.
"""

import asyncio
import json
import math
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from app.channel import transactions as txs
from app.channel.errors import BAD_MESSAGE, ProtocolError
from app.channel.transactions import MAX_MONEY, Utxo

MAX_FEE_RATE = 1_000  # sat/vB: an estimate above is capped, whatever the server says
MAX_ANSWER = 8 * 1024 * 1024  # characters; far above any answer this client asks for
MAX_RETRY_WAIT = 60  # seconds, whatever Retry-After asks for
HEX64 = re.compile(r"[0-9a-f]{64}")
DIGITS = re.compile(r"[0-9]{1,10}")
CURRENCY = re.compile(r"[A-Z]{3}")
HEX = re.compile(r"(?:[0-9a-f]{2})*")
RPC_ERROR = re.compile(r"\s*sendrawtransaction RPC error:\s*(\{.*\})\s*", re.DOTALL)


class ChainApiError(Exception):
    """The chain API could not be reached, refused a request, or answered nonsense."""


class ChainApiUnavailable(ChainApiError):
    """Transient: unreachable, rate-limited (429) or failing (5xx), still so after retries."""


class TxRefused(ChainApiError):
    """The node refused a transaction. `reason` is Bitcoin Core's reject reason (the text
    before the first comma, e.g. "non-final", "insufficient fee"), `code` its RPC code."""

    PREMATURE = ("non-final", "non-BIP68-final")

    def __init__(self, message: str, code: int | None = None):
        super().__init__(f"transaction refused by the network: {message}")
        self.message, self.code = message, code
        self.reason = message.split(",", 1)[0].strip()

    @property
    def premature(self) -> bool:
        """Refused only because a time lock has not passed yet: worth trying again later."""
        return self.reason in self.PREMATURE

    @classmethod
    def from_answer(cls, text: str) -> "TxRefused | None":
        """The node's refusal in electrs' `sendrawtransaction RPC error: {"code":-26,"message":"..."}`
        (or mempool's variant without the message); None for any other text, which is a proxy or
        server failing (mempool's "Failed to send raw transaction"), not the node refusing."""
        found = RPC_ERROR.fullmatch(text[:2000])
        if not found:
            return None
        try:
            error = json.loads(found.group(1))
        except (ValueError, RecursionError):
            return None
        if not isinstance(error, dict) or type(error.get("code")) is not int:
            return None
        message = error.get("message")
        return cls(message[:300] if isinstance(message, str) and message else f"RPC error {error['code']}",
                   error["code"])


@dataclass(frozen=True)
class TxStatus:
    confirmed: bool
    block_height: int | None


def _int(value, what, low=0, high=MAX_MONEY):
    if type(value) is not int or not low <= value <= high:
        raise ChainApiError(f"chain API: bad {what}: {str(value)[:80]!r}")
    return value


def _txid(value, what="txid"):
    if not isinstance(value, str) or not HEX64.fullmatch(value):
        raise ChainApiError(f"chain API: bad {what}: {str(value)[:80]!r}")
    return value


def _not_a_number(name):
    raise ValueError(f"{name} is not a number")


def parse_json(text: str, what: str):
    """JSON as a hostile server may send it: NaN, Infinity and absurd nesting are refused."""
    try:
        return json.loads(text, parse_constant=_not_a_number)
    except (ValueError, RecursionError):
        raise ChainApiError(f"chain API: {what} is not valid JSON") from None


def retry_after(headers, now: float) -> float | None:
    """Seconds a Retry-After header asks for (a number or an HTTP date), capped."""
    value = (headers or {}).get("retry-after")
    if not isinstance(value, str):
        return None
    value = value.strip()
    if DIGITS.fullmatch(value):
        return min(int(value), MAX_RETRY_WAIT)
    try:
        return min(max(parsedate_to_datetime(value).timestamp() - now, 0), MAX_RETRY_WAIT)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class Esplora:
    """`transport(method, url, body) -> (status, headers, text)` is awaited for each request;
    `headers` maps lower-case names to values (only "retry-after" is read).

    `on_wait(text)` is told, in words for the user, whenever a request waits to be retried.
    """

    def __init__(self, base_url, transport, *, attempts=4, sleep=asyncio.sleep, jitter=random.random,
                 clock=time.time, on_wait=None):
        self.base = base_url.rstrip("/")
        self.transport = transport
        self.attempts = attempts
        self.sleep, self.jitter, self.clock = sleep, jitter, clock
        self.on_wait = on_wait

    def backoff(self, attempt: int) -> float:
        """Exponential, with equal jitter so that many pages retrying do not retry together."""
        ceiling = min(30, 2 ** attempt)
        return ceiling / 2 + self.jitter() * ceiling / 2

    async def _request(self, method, path, body=None) -> tuple[int, str]:
        """(status, text) of the first answer that is not transient."""
        for attempt in range(self.attempts):
            try:
                status, headers, text = await self.transport(method, self.base + path, body)
            except ChainApiError:
                raise
            except Exception as error:  # noqa: BLE001  (any transport failure is one kind for the user)
                problem, wait = f"is unreachable ({str(error)[:120]})", None
            else:
                if type(status) is not int or not isinstance(text, str):
                    raise ChainApiError(f"chain API {self.base}: the transport gave no answer")
                if len(text) > MAX_ANSWER:
                    raise ChainApiError(f"chain API: {method} {path} answered {len(text)} characters, too many")
                if status != 429 and status < 500:
                    return status, text
                problem = "is busy (HTTP 429)" if status == 429 else f"is failing (HTTP {status})"
                wait = retry_after(headers, self.clock())
            if attempt == self.attempts - 1:
                raise ChainApiUnavailable(f"chain API {self.base} {problem}")
            delay = self.backoff(attempt) if wait is None else wait
            if self.on_wait:
                self.on_wait(f"The chain service {problem}; trying again in {math.ceil(delay)} s…")
            await self.sleep(delay)
        raise ChainApiUnavailable(f"chain API {self.base}: no attempts allowed")

    async def _get_json(self, path, *, missing_ok=False):
        """The JSON answer of a 2xx; None for a 404 where `missing_ok` (the server really 404s)."""
        status, text = await self._request("GET", path)
        if status == 404 and missing_ok:
            return None
        if not 200 <= status < 300:
            raise ChainApiError(f"chain API: GET {path} answered HTTP {status}: {text[:200]}")
        return parse_json(text, f"GET {path}")

    async def _get_text(self, path) -> str:
        status, text = await self._request("GET", path)
        if not 200 <= status < 300:
            raise ChainApiError(f"chain API: GET {path} answered HTTP {status}: {text[:200]}")
        return text.strip()

    async def tip_height(self) -> int:
        text = await self._get_text("/blocks/tip/height")
        if not DIGITS.fullmatch(text):
            raise ChainApiError(f"chain API: bad tip height: {text[:40]!r}")
        return _int(int(text), "tip height", 0, 10**8)

    async def tip_median_time(self) -> int:
        """The tip's median time past (BIP113): a time-locked refund is final once it passes."""
        tip = _txid(await self._get_text("/blocks/tip/hash"), "block hash")
        block = await self._get_json(f"/block/{tip}")
        if not isinstance(block, dict) or block.get("id") != tip:
            raise ChainApiError("chain API: the tip block does not match its hash")
        return _int(block.get("mediantime"), "median time", 0, 2**32)

    async def fee_rate(self, target_blocks=6) -> int:
        """Whole sat/vB for confirmation within `target_blocks`, from 1 to MAX_FEE_RATE (protocol §8)."""
        estimates = await self._get_json("/fee-estimates")
        if not isinstance(estimates, dict):
            raise ChainApiError("chain API: fee estimates are not an object")
        usable = {}
        for key, value in estimates.items():
            if not DIGITS.fullmatch(key) or type(value) not in (int, float) or not 0 <= value < math.inf:
                raise ChainApiError(f"chain API: bad fee estimate {key[:20]!r}: {str(value)[:20]!r}")
            usable[int(key)] = value
        at_or_below = [usable[k] for k in sorted(usable) if k <= target_blocks]
        above = [usable[k] for k in sorted(usable) if k > target_blocks]
        rate = at_or_below[-1] if at_or_below else (above[0] if above else 1)
        return max(1, min(MAX_FEE_RATE, math.ceil(rate)))

    async def prices(self) -> dict[str, float]:
        """BTC's price in each currency, where the service offers one (mempool.space's
        `GET /v1/prices`: {"time": …, "USD": 97000, "EUR": …}); {} where it does not (electrs,
        blockstream.info and the devnet answer 404)."""
        status, text = await self._request("GET", "/v1/prices")
        if not 200 <= status < 300:
            return {}
        data = parse_json(text, "GET /v1/prices")
        if not isinstance(data, dict):
            raise ChainApiError("chain API: prices are not an object")
        found = {}
        for currency, price in data.items():
            if currency == "time" or not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
                continue
            if type(price) not in (int, float) or not -1 <= price < 10**12:
                raise ChainApiError(f"chain API: bad price for {currency}: {str(price)[:20]!r}")
            if price > 0:  # mempool.space gives -1 or 0 for a currency it has no price for
                found[currency] = float(price)
        return found

    async def address_utxos(self, address) -> list[Utxo]:
        data = await self._get_json(f"/address/{address}/utxo")
        if not isinstance(data, list):
            raise ChainApiError("chain API: UTXO list is not a list")
        utxos, seen = [], set()
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("status"), dict):
                raise ChainApiError("chain API: malformed UTXO")
            confirmed = item["status"].get("confirmed")
            if not isinstance(confirmed, bool):
                raise ChainApiError("chain API: malformed UTXO status")
            utxo = Utxo(_txid(item.get("txid")), _int(item.get("vout"), "vout", 0, 2**32 - 1),
                        _int(item.get("value"), "UTXO value"), confirmed)
            if (utxo.txid, utxo.vout) in seen:
                raise ChainApiError(f"chain API: listed the output {utxo.txid}:{utxo.vout} twice")
            seen.add((utxo.txid, utxo.vout))
            utxos.append(utxo)
        if sum(u.value for u in utxos) > MAX_MONEY:
            raise ChainApiError("chain API: the UTXOs add up to more than 21 million bitcoin")
        return utxos

    async def _tx(self, txid) -> dict | None:
        """Esplora's JSON of a tx the API has (mempool or chain), or None: /tx/:txid 404s."""
        data = await self._get_json(f"/tx/{_txid(txid)}", missing_ok=True)
        if data is None:
            return None
        if not isinstance(data, dict) or data.get("txid") != txid:
            raise ChainApiError("chain API: answered with another transaction")
        return data

    async def tx_status(self, txid) -> TxStatus | None:
        """None when the API does not know the transaction (neither mempool nor chain)."""
        data = await self._tx(txid)
        if data is None:
            return None
        status = data.get("status")
        if not isinstance(status, dict) or not isinstance(status.get("confirmed"), bool):
            raise ChainApiError("chain API: malformed transaction status")
        height = _int(status.get("block_height"), "block height", 0, 10**8) if status["confirmed"] else None
        return TxStatus(status["confirmed"], height)

    async def outspend(self, txid, vout) -> str | None:
        """The txid spending output `vout` of `txid`, or None while it is unspent (or unknown)."""
        data = await self._get_json(f"/tx/{_txid(txid)}/outspend/{_int(vout, 'vout', 0, 2**32 - 1)}",
                                    missing_ok=True)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("spent"), bool):
            raise ChainApiError("chain API: malformed outspend")
        return _txid(data.get("txid"), "spending txid") if data["spent"] else None

    async def tx_outputs(self, txid) -> list[tuple[str, int]] | None:
        """[(scriptpubkey hex, value)] of a transaction the API knows, or None."""
        data = await self._tx(txid)
        if data is None:
            return None
        outputs = data.get("vout")
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise ChainApiError("chain API: malformed transaction")
        result = []
        for out in outputs:
            script = out.get("scriptpubkey")
            if not isinstance(script, str) or len(script) > 20_000 or not HEX.fullmatch(script):
                raise ChainApiError("chain API: malformed output script")
            result.append((script, _int(out.get("value"), "output value")))
        if sum(value for _, value in result) > MAX_MONEY:
            raise ChainApiError("chain API: outputs add up to more than 21 million bitcoin")
        return result

    async def transaction(self, txid):
        """The transaction itself (embit), its bytes checked against `txid`, or None when the API
        does not know it: figures read from it are the chain's, not the API's say-so."""
        status, text = await self._request("GET", f"/tx/{_txid(txid)}/hex")
        if status == 404:
            return None
        if not 200 <= status < 300 or not HEX.fullmatch(text.strip()):
            raise ChainApiError(f"chain API: GET /tx/{txid}/hex answered HTTP {status}: {text[:200]}")
        try:
            tx = txs.parse_tx(text.strip(), BAD_MESSAGE)
        except ProtocolError:
            raise ChainApiError("chain API: the transaction's bytes do not parse") from None
        if txs.txid(tx) != txid:
            raise ChainApiError("chain API: answered with another transaction's bytes")
        return tx

    async def broadcast(self, tx_hex, txid) -> str:
        """Publish `tx_hex`; its txid, or TxRefused with the node's reason (final), or another
        ChainApiError when the answer is not the node's (worth trying again). A refusal of a
        transaction the API already has (in the mempool or a block) counts as published."""
        status, text = await self._request("POST", "/tx", tx_hex)
        if 200 <= status < 300:
            if text.strip() != txid:
                raise ChainApiError(f"chain API returned txid {text.strip()[:80]!r}, expected {txid}")
            return txid
        refusal = TxRefused.from_answer(text)
        if await self.tx_status(txid) is not None:
            return txid
        if refusal is None:
            raise ChainApiError(f"chain API: POST /tx answered HTTP {status}: {text.strip()[:200]}")
        raise refusal
