"""Amounts as people read them: sats with thousands separators, BTC where it helps.

Pure functions, so the same text appears in tests and on the page.
"""

SATS_PER_BTC = 100_000_000


def sats(amount: int) -> str:
    """12345 -> '12,345 sats'."""
    return f"{amount:,} sat" + ("" if amount == 1 else "s")


def btc(amount: int) -> str:
    """12345 -> '0.00012345 BTC' (exact: integer arithmetic, no float rounding)."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), SATS_PER_BTC)
    return f"{sign}{whole}.{frac:08d} BTC"


def rate_summary(sat_per_min: int, price=None, currency: str = "") -> str:
    """The price three ways: per minute, per hour, and BTC per hour; with `price` (of one BTC
    in `currency`), a fourth in fiat per hour."""
    per_hour = sat_per_min * 60
    worth = f" · {fiat(per_hour, price, currency)}/hour" if price else ""
    return f"{sats(sat_per_min)}/min · {sats(per_hour)}/hour · {btc(per_hour)}/hour{worth}"


def duration(seconds: int) -> str:
    """95 -> '1 min 35 s'; 3700 -> '1 h 1 min'."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def fiat(amount: int, price: float, currency: str) -> str:
    """What `amount` sats are worth at `price` (of one BTC in `currency`): '≈ 0.58 USD'."""
    value = amount * price / SATS_PER_BTC
    return f"≈ {value:,.2f} {currency}" if value >= 0.01 else f"< 0.01 {currency}"
