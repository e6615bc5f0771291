"""End to end with real processes, as a user runs them: serve.py's devnet, a toy API, paywall.py
in front of it and pay.py's commands. One channel carries every request; an upstream failure is
not charged; the paywall killed with SIGKILL mid-channel and started again loses nothing; the
close settles on chain, in a block libbitcoinkernel connected, paying exactly what was used."""

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.channel.addresses import address_script

from tests.conftest import ServerProcess
from tests.browser.e2e_support import regtest_address

ROOT = Path(__file__).resolve().parent.parent.parent
PRICE = 25  # 20 requests pay 500 sat, above the payout's dust threshold

pytestmark = pytest.mark.slow


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


class PayCli:
    def __init__(self, esplora, wallet):
        self.base = [sys.executable, str(ROOT / "pay.py"), "--esplora", esplora, "--wallet", str(wallet)]

    def __call__(self, *args, ok=True):
        done = subprocess.run(self.base + list(args), cwd=ROOT, capture_output=True, text=True, timeout=120)
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done


def paywall_process(tmp_path, toy, esplora, payout, port=None):
    server = ServerProcess("--upstream", toy.url, "--price", f"GET /v1/*={PRICE}", "--free", "/health",
                           "--payout", payout, "--esplora", esplora, "--db", str(tmp_path / "paywall.sqlite3"),
                           "--buried", "1", script=ROOT / "paywall.py", data_dir=tmp_path / "paywall",
                           data_dir_flag=False, ready_path="/health", port=port)
    return server.start()


def metrics(paywall):
    with urllib.request.urlopen(paywall.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))


def test_pay_cli_uses_one_channel_survives_a_killed_paywall_and_settles_exactly(tmp_path, live_server):
    esplora = live_server.url + "/api"
    toy = ServerProcess(module="tests.paywall.toy_api", data_dir=tmp_path / "toy", data_dir_flag=False,
                        ready_path="/health").start()
    payout = regtest_address()
    paywall = paywall_process(tmp_path, toy, esplora, payout)
    pay = PayCli(esplora, tmp_path / "wallet.json")
    try:
        try:
            urllib.request.urlopen(paywall.url + "/v1/echo", timeout=10)
            raise AssertionError("an unpaid request was served")
        except urllib.error.HTTPError as e:
            assert e.code == 402 and json.loads(e.read())["streamium"]["price_sat"] == PRICE
        assert f"{PRICE} sat per request" in pay("quote", paywall.url + "/v1/echo").stdout
        pay("faucet", "--amount", "100000")

        for i in range(10):
            assert json.loads(pay("get", f"{paywall.url}/v1/echo?i={i}").stdout)["path"] == f"/v1/echo?i={i}"
        failed = pay("get", paywall.url + "/v1/fail", ok=False)
        assert failed.returncode == 1 and "charged 0 sat" in failed.stderr
        assert metrics(paywall)["streamium_paywall_revenue_sat_total"] == str(10 * PRICE)

        paywall.proc.send_signal(signal.SIGKILL)  # no clean shutdown: what was answered was written first
        paywall.proc.wait()
        paywall.log.close()
        paywall = paywall_process(tmp_path, toy, esplora, payout, port=paywall.port)
        for i in range(10, 20):
            assert json.loads(pay("get", f"{paywall.url}/v1/echo?i={i}").stdout)["path"] == f"/v1/echo?i={i}"
        assert metrics(paywall)["streamium_paywall_revenue_sat_total"] == str(20 * PRICE)
        assert metrics(paywall)['streamium_paywall_channels{state="open"}'] == "1"
        listed = pay("channels").stdout.strip().splitlines()
        assert len(listed) == 1 and "open" in listed[0]  # twenty requests, one channel, one T1

        txid = pay("close", paywall.url + "/v1/echo").stdout.strip()
        settlement = get_json(f"{esplora}/tx/{txid}")
        assert settlement["status"]["confirmed"]  # the devnet mined it: the kernel connected its block
        paid = {o["scriptpubkey"]: o["value"] for o in settlement["vout"]}
        assert paid[address_script(payout, "regtest").hex()] == 20 * PRICE
        wallet = pay("address").stdout.strip()
        assert paid[address_script(wallet, "regtest").hex()] > 0  # the rest goes back to the wallet
    finally:
        paywall.stop()
        toy.stop()
