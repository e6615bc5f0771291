"""A client for any Esplora REST API (the devnet, mempool.space, blockstream.info, electrs).

The transport is passed in (the page's fetch in Pyodide, aiohttp in tests), so
this module does no I/O of its own. Every answer is checked before use: a chain
API is a server we do not control, and a wrong number here moves money.
"""

import json
import math
import re
from dataclasses import dataclass

HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_SATS = 21_000_000 * 100_000_000


class ChainApiError(Exception):
    """The chain API could not be reached, refused a request, or answered nonsense."""


@dataclass(frozen=True)
class Utxo:
    txid: str
    vout: int
    value: int
    confirmed: bool


@dataclass(frozen=True)
class TxStatus:
    confirmed: bool
    block_height: int | None


def _int(value, what, low=0, high=MAX_SATS):
    if type(value) is not int or not low <= value <= high:
        raise ChainApiError(f"chain API: bad {what}: {value!r}")
    return value


def _txid(value, what="txid"):
    if not isinstance(value, str) or not HEX64.match(value):
        raise ChainApiError(f"chain API: bad {what}: {value!r}")
    return value


class Esplora:
    """`transport(method, url, body) -> (status, text)` is awaited for each request."""

    def __init__(self, base_url, transport):
        self.base = base_url.rstrip("/")
        self.transport = transport

    async def _request(self, method, path, body=None):
        try:
            status, text = await self.transport(method, self.base + path, body)
        except ChainApiError:
            raise
        except Exception as error:  # noqa: BLE001  (any transport failure is one kind for the user)
            raise ChainApiError(f"chain API unreachable ({self.base}): {error}")
        return status, text

    async def _get_json(self, path):
        status, text = await self._request("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise ChainApiError(f"chain API: GET {path} answered HTTP {status}: {text[:200]}")
        try:
            return json.loads(text)
        except ValueError:
            raise ChainApiError(f"chain API: GET {path} did not answer JSON")

    async def tip_height(self) -> int:
        status, text = await self._request("GET", "/blocks/tip/height")
        if status != 200 or not text.strip().isdigit():
            raise ChainApiError(f"chain API: bad tip height (HTTP {status})")
        return _int(int(text.strip()), "tip height", 0, 10**8)

    async def tip_median_time(self) -> int:
        """The tip's median time past (BIP113): a time-locked refund is final once it passes."""
        status, text = await self._request("GET", "/blocks/tip/hash")
        if status != 200:
            raise ChainApiError(f"chain API: bad tip hash (HTTP {status})")
        block = await self._get_json(f"/block/{_txid(text.strip(), 'block hash')}")
        if not isinstance(block, dict):
            raise ChainApiError("chain API: tip block not found")
        return _int(block.get("mediantime"), "median time", 0, 2**32)

    async def fee_rate(self, target_blocks=6) -> int:
        """Whole sat/vB for confirmation within `target_blocks`, at least 1 (protocol §8)."""
        estimates = await self._get_json("/fee-estimates")
        if not isinstance(estimates, dict):
            raise ChainApiError("chain API: fee estimates are not an object")
        usable = {}
        for key, value in estimates.items():
            if isinstance(key, str) and key.isdigit() and type(value) in (int, float) \
                    and math.isfinite(value) and 0 <= value <= 100_000:
                usable[int(key)] = value
        at_or_below = [usable[k] for k in sorted(usable) if k <= target_blocks]
        rate = at_or_below[-1] if at_or_below else min(usable.values(), default=1)
        return max(1, math.ceil(rate))

    async def address_utxos(self, address) -> list[Utxo]:
        data = await self._get_json(f"/address/{address}/utxo")
        if not isinstance(data, list):
            raise ChainApiError("chain API: UTXO list is not a list")
        utxos = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("status"), dict):
                raise ChainApiError("chain API: malformed UTXO")
            confirmed = item["status"].get("confirmed")
            if not isinstance(confirmed, bool):
                raise ChainApiError("chain API: malformed UTXO status")
            utxos.append(Utxo(_txid(item.get("txid")), _int(item.get("vout"), "vout", 0, 100_000),
                              _int(item.get("value"), "UTXO value", 0), confirmed))
        return utxos

    async def tx_status(self, txid) -> TxStatus | None:
        """None when the API does not know the transaction (neither mempool nor chain)."""
        data = await self._get_json(f"/tx/{_txid(txid)}/status")
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("confirmed"), bool):
            raise ChainApiError("chain API: malformed transaction status")
        height = data.get("block_height") if data["confirmed"] else None
        if height is not None:
            _int(height, "block height", 0, 10**8)
        return TxStatus(data["confirmed"], height)

    async def outspend(self, txid, vout) -> str | None:
        """The txid spending output `vout` of `txid`, or None while it is unspent (or unknown)."""
        data = await self._get_json(f"/tx/{_txid(txid)}/outspend/{_int(vout, 'vout', 0, 100_000)}")
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("spent"), bool):
            raise ChainApiError("chain API: malformed outspend")
        return _txid(data.get("txid"), "spending txid") if data["spent"] else None

    async def tx_outputs(self, txid) -> list[tuple[str, int]] | None:
        """[(scriptpubkey hex, value)] of a transaction the API knows, or None."""
        data = await self._get_json(f"/tx/{_txid(txid)}")
        if data is None:
            return None
        outputs = data.get("vout") if isinstance(data, dict) else None
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise ChainApiError("chain API: malformed transaction")
        result = []
        for out in outputs:
            script = out.get("scriptpubkey")
            if not isinstance(script, str) or not re.fullmatch(r"(?:[0-9a-f]{2})*", script):
                raise ChainApiError("chain API: malformed output script")
            result.append((script, _int(out.get("value"), "output value")))
        return result

    async def broadcast(self, tx_hex, txid) -> str:
        """Publish; an 'already known' answer counts as success when the API has the txid."""
        status, text = await self._request("POST", "/tx", tx_hex)
        if status == 200:
            if text.strip() != txid:
                raise ChainApiError(f"chain API returned txid {text.strip()[:80]!r}, expected {txid}")
            return txid
        if await self.tx_status(txid) is not None:
            return txid
        raise ChainApiError(f"transaction refused: {text.strip()[:300] or f'HTTP {status}'}")
