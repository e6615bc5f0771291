"""Amounts read the same everywhere, and payment URIs carry the exact amount."""

import pytest

from app.amounts import btc, duration, fiat, rate_summary, sats
from app.qr import bitcoin_uri, qr_data_uri


@pytest.mark.parametrize("amount, text", [(0, "0 sats"), (1, "1 sat"), (1234567, "1,234,567 sats")])
def test_sats_have_thousands_separators(amount, text):
    assert sats(amount) == text


@pytest.mark.parametrize("amount, text", [
    (1, "0.00000001 BTC"), (100_000_000, "1.00000000 BTC"), (2_100_000_000_000_000, "21000000.00000000 BTC")])
def test_btc_is_exact(amount, text):
    assert btc(amount) == text


def test_a_rate_is_shown_per_minute_per_hour_and_in_btc_per_hour():
    assert rate_summary(100) == "100 sats/min · 6,000 sats/hour · 0.00006000 BTC/hour"


@pytest.mark.parametrize("seconds, text", [(5, "5 s"), (95, "1 min 35 s"), (3700, "1 h 1 min"), (-3, "0 s")])
def test_durations_read_naturally(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize("amount, text", [(150_000, "0.0015"), (100_000_000, "1"), (1, "0.00000001")])
def test_a_bitcoin_uri_carries_the_exact_amount(amount, text):
    assert bitcoin_uri("bcrt1qxyz", amount) == f"bitcoin:bcrt1qxyz?amount={text}"


def test_a_qr_code_is_an_svg_data_uri():
    assert qr_data_uri("bitcoin:bcrt1qxyz?amount=0.001").startswith("data:image/svg+xml")


def test_fiat_is_an_approximation_to_the_cent():
    assert fiat(60_000, 97_012, "USD") == "≈ 58.21 USD"
    assert fiat(1, 97_012, "USD") == "< 0.01 USD"


def test_a_rate_with_a_price_also_says_what_an_hour_costs_in_fiat():
    assert rate_summary(1000, 97_012, "USD").endswith(" · 0.00060000 BTC/hour · ≈ 58.21 USD/hour")
