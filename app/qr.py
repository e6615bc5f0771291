"""QR codes as SVG data URIs (segno, pure Python), for an <img src>: never inserted as HTML."""

from urllib.parse import quote

import segno


def qr_data_uri(text: str) -> str:
    return segno.make(text, error="m").svg_data_uri(scale=4, border=2)


def bitcoin_uri(address: str, amount_sat: int, label: str = "") -> str:
    """BIP21 URI with the exact amount, so a wallet cannot pay a different one by mistake."""

    whole, frac = divmod(amount_sat, 100_000_000)
    amount = f"{whole}.{frac:08d}".rstrip("0").rstrip(".")
    uri = f"bitcoin:{address}?amount={amount}"
    return uri + (f"&label={quote(label)}" if label else "")
