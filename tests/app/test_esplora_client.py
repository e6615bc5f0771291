"""The app's Esplora client, against the real devnet, and against answers it must not trust."""

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from embit.ec import PrivateKey
from embit.networks import NETWORKS
from embit.script import p2wpkh

from app.esplora import ChainApiError, Esplora
from streamium_server.devnet import DEVNET, make_devnet_app


@pytest.fixture(scope="module")
def devnet_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("esplora-devnet")


@pytest.fixture
async def devnet_app(devnet_dir):
    return make_devnet_app(devnet_dir, block_interval=0)


@pytest.fixture
async def client(devnet_app):
    root = web.Application()
    root.add_subapp("/api", devnet_app)
    async with TestClient(TestServer(root)) as c:
        yield c


def aiohttp_transport(client):
    async def transport(method, url, body):
        response = await client.request(method, url, data=body)
        return response.status, await response.text()
    return transport


def fake_transport(answers):
    async def transport(method, url, body):
        path = url.split("/api", 1)[1]
        return answers[(method, path)]
    return transport


async def test_funds_sent_to_an_address_show_up_as_its_utxos_and_confirm(client):
    api = Esplora("/api", aiohttp_transport(client))
    address = p2wpkh(PrivateKey(b"\x07" * 32).get_public_key()).address(NETWORKS["regtest"])
    height = await api.tip_height()
    answer = await client.post("/api/devnet/faucet", json={"address": address, "amount_sat": 50_000})
    txid = (await answer.json())["txid"]
    utxos = await api.address_utxos(address)
    assert [(u.txid, u.value) for u in utxos if u.txid == txid] == [(txid, 50_000)]
    status = await api.tx_status(txid)
    assert status.confirmed and status.block_height == height + 1
    assert await api.fee_rate() >= 1


async def test_the_tip_median_time_is_the_chains_own(client, devnet_app):
    api = Esplora("/api", aiohttp_transport(client))
    assert await api.tip_median_time() == devnet_app[DEVNET].chain.median_time_past()


async def test_broadcasting_a_known_transaction_again_counts_as_success(client):
    api = Esplora("/api", aiohttp_transport(client))
    address = p2wpkh(PrivateKey(b"\x08" * 32).get_public_key()).address(NETWORKS["regtest"])
    txid = (await (await client.post("/api/devnet/faucet",
                                     json={"address": address, "amount_sat": 40_000})).json())["txid"]
    raw = await (await client.get(f"/api/tx/{txid}/hex")).text()
    assert await api.broadcast(raw, txid) == txid


async def test_a_refused_transaction_raises_with_the_servers_reason(client):
    api = Esplora("/api", aiohttp_transport(client))
    with pytest.raises(ChainApiError, match="transaction refused"):
        await api.broadcast("00", "00" * 32)


async def test_outspend_and_outputs_follow_a_spend_on_the_devnet(client):
    api = Esplora("/api", aiohttp_transport(client))
    address = p2wpkh(PrivateKey(b"\x09" * 32).get_public_key()).address(NETWORKS["regtest"])
    txid = (await (await client.post("/api/devnet/faucet",
                                     json={"address": address, "amount_sat": 30_000})).json())["txid"]
    outputs = await api.tx_outputs(txid)
    funded = [vout for vout, (_, value) in enumerate(outputs) if value == 30_000]
    assert len(funded) == 1 and await api.outspend(txid, funded[0]) is None
    faucet_input = json.loads(await (await client.get(f"/api/tx/{txid}")).text())["vin"][0]
    assert await api.outspend(faucet_input["txid"], faucet_input["vout"]) == txid
    assert await api.tx_outputs("ab" * 32) is None


@pytest.mark.parametrize("path, answer, message", [
    ("/tx/" + "ab" * 32 + "/outspend/0", {"spent": "yes"}, "malformed outspend"),
    ("/tx/" + "ab" * 32 + "/outspend/0", {"spent": True, "txid": "nope"}, "bad spending txid"),
    ("/tx/" + "ab" * 32, {"vout": [{"scriptpubkey": "zz", "value": 1}]}, "malformed output script"),
    ("/tx/" + "ab" * 32, {"vout": [{"scriptpubkey": "00", "value": "5"}]}, "bad output value"),
    ("/tx/" + "ab" * 32, {"vout": "none"}, "malformed transaction"),
])
async def test_a_hostile_outspend_or_transaction_answer_is_refused(path, answer, message):
    api = Esplora("/api", fake_transport({("GET", path): (200, json.dumps(answer))}))
    call = api.outspend("ab" * 32, 0) if "outspend" in path else api.tx_outputs("ab" * 32)
    with pytest.raises(ChainApiError, match=message):
        await call


async def test_an_unknown_transaction_has_no_status(client):
    assert await Esplora("/api", aiohttp_transport(client)).tx_status("ab" * 32) is None


@pytest.mark.parametrize("answer, message", [
    ([{"txid": "zz", "vout": 0, "value": 1, "status": {"confirmed": True}}], "bad txid"),
    ([{"txid": "ab" * 32, "vout": 0, "value": -5, "status": {"confirmed": True}}], "bad UTXO value"),
    ([{"txid": "ab" * 32, "vout": 0, "value": True, "status": {"confirmed": True}}], "bad UTXO value"),
    ([{"txid": "ab" * 32, "vout": 0, "value": 10**16, "status": {"confirmed": True}}], "bad UTXO value"),
    ([{"txid": "ab" * 32, "vout": "0", "value": 1, "status": {"confirmed": True}}], "bad vout"),
    ([{"txid": "ab" * 32, "vout": 0, "value": 1, "status": {"confirmed": "yes"}}], "malformed UTXO status"),
    ({"not": "a list"}, "not a list"),
])
async def test_a_hostile_utxo_answer_is_refused(answer, message):
    api = Esplora("/api", fake_transport({("GET", "/address/x/utxo"): (200, json.dumps(answer))}))
    with pytest.raises(ChainApiError, match=message):
        await api.address_utxos("x")


async def test_a_lying_broadcast_answer_is_refused():
    api = Esplora("/api", fake_transport({("POST", "/tx"): (200, "cd" * 32)}))
    with pytest.raises(ChainApiError, match="expected"):
        await api.broadcast("00", "ab" * 32)


@pytest.mark.parametrize("estimates, rate", [
    ({"1": 87.9, "6": 10.2, "144": 1.0}, 11),
    ({"1": 2.0}, 2),
    ({"144": 0.5}, 1),
    ({}, 1),
    ({"6": "NaN", "2": float("inf"), "3": 4}, 4),
])
async def test_fee_rate_is_a_whole_number_of_sat_per_vbyte_of_at_least_one(estimates, rate):
    body = json.dumps(estimates).replace("Infinity", "1e999")
    api = Esplora("/api", fake_transport({("GET", "/fee-estimates"): (200, body)}))
    assert await api.fee_rate() == rate


async def test_an_unreachable_api_is_a_chain_api_error():
    async def down(method, url, body):
        raise OSError("connection refused")
    with pytest.raises(ChainApiError, match="unreachable"):
        await Esplora("https://example.invalid/api", down).tip_height()
