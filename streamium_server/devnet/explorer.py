"""A small block explorer for the devnet: one page per transaction (status, inputs, outputs,
what spent each output), so the app's transaction links open something people can read, as
mempool.space's do on a real network. Built from the same Esplora JSON the devnet's API serves;
every value is escaped, nothing from the chain is markup.
"""

import asyncio
from html import escape

from aiohttp import web

from . import esplora
from .api import DEVNET
from .rest import RestError, hash_param

STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#1b1b1b}"
         "code,td{overflow-wrap:anywhere}table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}"
         "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}"
         ".n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}")


def _sats(value: int) -> str:
    return f"{value:,} sat" + ("" if value == 1 else "s")


def _link(txid: str, text: str = "") -> str:
    return f'<a href="./{escape(txid)}"><code>{escape(text or txid)}</code></a>'


def _status(tx: dict, tip: int) -> str:
    status = tx["status"]
    if not status["confirmed"]:
        return "Unconfirmed: waiting in the mempool"
    depth = tip - status["block_height"] + 1
    return f"Confirmed in block {status['block_height']} ({depth} confirmation{'' if depth == 1 else 's'})"


def page(tx: dict, spends: list, tip: int) -> str:
    rows_in = "".join(
        "<tr><td>coinbase</td><td></td><td></td></tr>" if i.get("is_coinbase") else
        f"<tr><td>{_link(i['txid'], i['txid'][:16] + '…:' + str(i['vout']))}</td>"
        f"<td><code>{escape(i['prevout'].get('scriptpubkey_address') or i['prevout']['scriptpubkey_type'])}</code></td>"
        f"<td class=n>{_sats(i['prevout']['value'])}</td></tr>" for i in tx["vin"])
    rows_out = "".join(
        f"<tr><td>{n}</td><td><code>{escape(o.get('scriptpubkey_address') or o['scriptpubkey_type'])}</code></td>"
        f"<td class=n>{_sats(o['value'])}</td>"
        f"<td>{_link(s['txid'], s['txid'][:16] + '…') if s.get('spent') else 'unspent'}</td></tr>"
        for n, (o, s) in enumerate(zip(tx["vout"], spends)))
    txid = escape(tx["txid"])
    return (f"<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width,"
            f"initial-scale=1'><title>Transaction {txid[:16]}… · devnet</title><style>{STYLE}</style>"
            f"<h1>Transaction</h1><p><code>{txid}</code></p><p><strong>{escape(_status(tx, tip))}</strong></p>"
            f"<p>Fee {_sats(tx['fee'])} · {tx['weight']} weight units · {tx['size']} bytes · "
            f"<a href='/api/tx/{txid}'>Esplora JSON</a></p>"
            f"<h2>Inputs</h2><table><tr><th>coin</th><th>address</th><th class=n>value</th></tr>{rows_in}</table>"
            f"<h2>Outputs</h2><table><tr><th>#</th><th>address</th><th class=n>value</th><th>spent by</th></tr>"
            f"{rows_out}</table><p><small>Streamium devnet (regtest): not a real network.</small></p></html>")


def transaction_page(devnet_app: web.Application):
    """GET /explorer/tx/{txid} on the devnet's chain."""
    async def handle(request: web.Request) -> web.Response:
        devnet = devnet_app[DEVNET]
        try:
            txid = hash_param(request, "txid")
        except RestError as e:
            return web.Response(status=400, text=e.text)

        def read():
            with devnet.lock:
                found = esplora.find_tx(devnet, txid)
                if found is None:
                    return None
                return esplora.tx_json(devnet, *found), esplora.outspends_json(devnet, txid), devnet.chain.height

        found = await asyncio.get_running_loop().run_in_executor(None, read)
        if found is None:
            return web.Response(status=404, text="This transaction is not on the devnet (nor in its mempool).")
        return web.Response(text=page(*found), content_type="text/html", headers={"Cache-Control": "no-cache"})
    return handle
