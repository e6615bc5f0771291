"""pay.py's commands, run as the user runs them (in a thread, against the real paywall in front of
the toy API, on the devnet): answers on stdout, what it paid on stderr, one line and exit code 1
for what the user can fix."""

import asyncio
import json
import re

from streamium_pay.cli import main


async def run(capsys, *argv):
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_user_funds_the_wallet_pays_and_settles(world, tmp_path, capsys):
    pay = ("--esplora", world.esplora_url, "--wallet", str(tmp_path / "cli.json"))
    url = world.origin + "/v1/echo"
    code, out, err = await run(capsys, *pay, "get", url)
    assert code == 1 and re.search(r"send at least \d+ sat to bcrt1", err) and "Traceback" not in err
    code, out, _ = await run(capsys, *pay, "faucet", "--amount", "100000")
    assert code == 0 and re.fullmatch(r"[0-9a-f]{64}\n", out)
    code, out, _ = await run(capsys, *pay, "quote", url)
    assert code == 0 and "* /v1/*: 10 sat per request" in out
    code, out, err = await run(capsys, *pay, "get", url, "--max-price", "9")
    assert code == 1 and "--max-price of 9 sat" in err
    code, out, err = await run(capsys, *pay, "get", url, "-H", "Accept: text/plain")
    assert code == 0 and json.loads(out) == {"path": "/v1/echo", "body": ""} and "charged 10 sat, spent 10 sat, credit 284 sat" in err
    code, out, _ = await run(capsys, *pay, "bench", url, "--requests", "30", "--concurrency", "5")
    assert code == 0 and "30 paid requests on one channel" in out and "requests/s" in out
    code, out, _ = await run(capsys, *pay, "channels")
    assert code == 0 and "open" in out and "spent 320 sat" in out, "one first request, then the 30 timed"
    code, out, _ = await run(capsys, *pay, "balance")
    assert code == 0 and "sat confirmed" in out and "capacity" in out
    code, out, _ = await run(capsys, *pay, "close", url)
    assert code == 0 and re.fullmatch(r"[0-9a-f]{64}\n", out)
    paid, _ = await world.settled(out.strip())
    assert paid == [320], "exactly what was spent (the change goes to this wallet file's own address)"
    code, _, err = await run(capsys, *pay, "get", "http://127.0.0.1:9/v1/x")
    assert code == 1 and "did not answer" in err and "Traceback" not in err
