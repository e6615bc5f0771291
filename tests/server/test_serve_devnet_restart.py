"""The devnet survives a restart of serve.py itself, and --reset starts a new chain."""

import json
import urllib.request

from embit.ec import PrivateKey
from embit.networks import NETWORKS
from embit.script import p2wpkh

from tests.conftest import ServerProcess


def get(server, path):
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return response.read().decode()


def post_json(server, path, body):
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_utxos_and_height_are_the_same_after_serve_py_restarts(tmp_path):
    address = p2wpkh(PrivateKey(b"\x11" * 32).get_public_key()).address(NETWORKS["regtest"])
    data_dir = tmp_path / "devnet"
    server = ServerProcess("--block-interval", "0", data_dir=data_dir).start()
    try:
        txid = post_json(server, "/api/devnet/faucet", {"address": address, "amount_sat": 123_456})["txid"]
        height, utxos = get(server, "/api/blocks/tip/height"), json.loads(get(server, f"/api/address/{address}/utxo"))
    finally:
        server.stop()
    assert [u["txid"] for u in utxos] == [txid]

    again = ServerProcess("--block-interval", "0", data_dir=data_dir).start()
    try:
        assert get(again, "/api/blocks/tip/height") == height
        assert json.loads(get(again, f"/api/address/{address}/utxo")) == utxos
    finally:
        again.stop()

    fresh = ServerProcess("--block-interval", "0", "--reset", data_dir=data_dir).start()
    try:
        assert json.loads(get(fresh, f"/api/address/{address}/utxo")) == []
    finally:
        fresh.stop()
