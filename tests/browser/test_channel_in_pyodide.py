"""The channel core runs unchanged in the page's Pyodide and builds the same bytes as CPython."""

from pathlib import Path

from tests.browser.pyodide import run_python
from tests.channel.full_channel import run_full_channel

FULL_CHANNEL = (Path(__file__).resolve().parent.parent / "channel" / "full_channel.py").read_text()
SAME_BYTES = ["funding_tx", "refund_tx", "closing_tx", "funding_txid", "witness_script", "payments",
              "amount", "max_amount", "lock_time", "viewer_state", "broadcaster_state"]


def test_a_whole_channel_runs_in_the_page_and_matches_cpython_byte_for_byte(app_page):
    """With the page's wasm libsecp256k1 verifying every signature, as the app runs."""
    app_page.wait_for_selector("body[data-secp256k1=libsecp256k1]", timeout=30_000)
    in_page = run_python(app_page, FULL_CHANNEL.replace('if __name__ == "__main__":', "if False:") + '''
import json
from embit.util import secp256k1
r = run_full_channel("close", payments=20)
result = json.loads(json.dumps({k: r[k] for k in %r}))
result["verify"] = secp256k1.ecdsa_verify.__module__
''' % SAME_BYTES, timeout=120_000)
    assert in_page["verify"] == "app.ui.secp256k1_wasm"
    in_cpython = run_full_channel("close", payments=20)
    assert in_page["viewer_state"] == in_page["broadcaster_state"] == "closed"
    assert len(in_page["payments"]) >= 20
    for key in SAME_BYTES:
        expected = in_cpython[key]
        assert in_page[key] == (list(expected) if isinstance(expected, tuple) else expected), key
