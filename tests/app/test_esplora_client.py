"""The app's Esplora client: against the real devnet, against the answers mempool.space
and electrs really give, through transient failures, and against answers it must not trust."""

import inspect
import json
import sys

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from embit.ec import PrivateKey
from embit.networks import NETWORKS
from embit.script import p2wpkh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.chain_watch import confirmations
from app.esplora import ChainApiError, ChainApiUnavailable, Esplora, TxRefused
from streamium_server.devnet import DEVNET, make_devnet_app
from streamium_server.esplora_client import esplora

from . import recorded_answers as real

TXID = real.TXID


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


class Server:
    """A scripted chain API: each (method, path) answers its list of (status, headers, body)
    in turn, the last one for ever; every call is recorded."""

    def __init__(self, answers):
        self.answers = {key: list(value) if isinstance(value, list) else [value] for key, value in answers.items()}
        self.calls = []

    async def __call__(self, method, url, body):
        path = url.split("/api", 1)[1]
        self.calls.append((method, path))
        queue = self.answers[(method, path)]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def api_on(answers, **options):
    server = Server(answers)
    slept, waits = [], []

    async def sleep(seconds):
        slept.append(seconds)

    api = Esplora("/api", server, sleep=sleep, jitter=lambda: 0.5, clock=lambda: 1_800_000_000,
                  on_wait=waits.append, **options)
    return api, server, slept, waits


def ok(value):
    return 200, {}, json.dumps(value)


def address_of(seed: int) -> str:
    return p2wpkh(PrivateKey(bytes([seed]) * 32).get_public_key()).address(NETWORKS["regtest"])


# ---- the real devnet ----------------------------------------------------------------------

async def test_funds_sent_to_an_address_show_up_as_its_utxos_and_confirm(client):
    api = esplora("/api", client)
    address = address_of(7)
    height = await api.tip_height()
    answer = await client.post("/api/devnet/faucet", json={"address": address, "amount_sat": 50_000})
    txid = (await answer.json())["txid"]
    utxos = await api.address_utxos(address)
    assert [(u.txid, u.value) for u in utxos if u.txid == txid] == [(txid, 50_000)]
    status = await api.tx_status(txid)
    assert status.confirmed and status.block_height == height + 1
    assert await api.fee_rate() >= 1


async def test_the_tip_median_time_is_the_chains_own(client, devnet_app):
    api = esplora("/api", client)
    assert await api.tip_median_time() == devnet_app[DEVNET].chain.median_time_past()


async def test_broadcasting_a_confirmed_transaction_again_counts_as_published(client):
    api = esplora("/api", client)
    txid = (await (await client.post("/api/devnet/faucet",
                                     json={"address": address_of(8), "amount_sat": 40_000})).json())["txid"]
    raw = await (await client.get(f"/api/tx/{txid}/hex")).text()
    assert await api.broadcast(raw, txid) == txid  # the devnet says -27 "already in utxo set"


async def test_a_refused_transaction_raises_with_the_nodes_reason_and_code(client):
    api = esplora("/api", client)
    with pytest.raises(TxRefused, match="transaction refused by the network: TX decode failed") as refused:
        await api.broadcast("00", TXID)
    assert refused.value.code == -22 and not refused.value.premature


async def test_outspend_and_outputs_follow_a_spend_on_the_devnet(client):
    api = esplora("/api", client)
    txid = (await (await client.post("/api/devnet/faucet",
                                     json={"address": address_of(9), "amount_sat": 30_000})).json())["txid"]
    outputs = await api.tx_outputs(txid)
    funded = [vout for vout, (_, value) in enumerate(outputs) if value == 30_000]
    assert len(funded) == 1 and await api.outspend(txid, funded[0]) is None
    faucet_input = json.loads(await (await client.get(f"/api/tx/{txid}")).text())["vin"][0]
    assert await api.outspend(faucet_input["txid"], faucet_input["vout"]) == txid
    assert await api.tx_outputs(TXID) is None
    assert await api.tx_status(TXID) is None
    assert await api.outspend(TXID, 0) is None


async def test_a_transaction_comes_as_its_own_bytes_with_its_depth(client):
    api = esplora("/api", client)
    txid = (await (await client.post("/api/devnet/faucet",
                                     json={"address": address_of(10), "amount_sat": 20_000})).json())["txid"]
    tx = await api.transaction(txid)
    assert 20_000 in [o.value for o in tx.vout]
    assert await confirmations(api, txid) == 1
    await client.post("/api/devnet/mine", json={"blocks": 2})
    assert await confirmations(api, txid) == 3
    assert await api.transaction(TXID) is None and await confirmations(api, TXID) is None


# ---- answers the public servers really give ----------------------------------------------

async def test_mempool_spaces_203_fee_estimates_are_a_success():
    api, *_ = api_on({("GET", "/fee-estimates"): real.FEE_ESTIMATES_203})
    assert await api.fee_rate() == 3  # target 6 blocks: 2.05 sat/vB, rounded up
    assert await api.fee_rate(target_blocks=1) == 5


async def test_electrs_status_of_an_unknown_tx_does_not_make_it_known():
    api, server, *_ = api_on({("GET", f"/tx/{TXID}"): real.TX_NOT_FOUND,
                              ("GET", f"/tx/{TXID}/status"): real.STATUS_OF_UNKNOWN_TX})
    assert await api.tx_status(TXID) is None
    assert ("GET", f"/tx/{TXID}/status") not in server.calls


async def test_an_unknown_output_is_unspent():
    api, *_ = api_on({("GET", f"/tx/{TXID}/outspend/0"): real.OUTSPEND_OF_UNKNOWN_OUTPUT})
    assert await api.outspend(TXID, 0) is None


@pytest.mark.parametrize("answer, reason, code, premature", [
    (real.REFUSED_LOW_FEE, "min relay fee not met", -26, False),
    (real.REFUSED_NON_FINAL, "non-final", -26, True),
    (real.REFUSED_CONFLICT, "insufficient fee", -26, False),
    (real.REFUSED_MISSING_INPUTS, "bad-txns-inputs-missingorspent", -25, False),
    (real.REFUSED_CODE_ONLY, "RPC error -26", -26, False),
])
async def test_a_refused_broadcast_is_an_error_even_where_status_says_unconfirmed(answer, reason, code, premature):
    """The old client asked /status after a refusal; electrs' {"confirmed": false} made every
    refusal look published."""
    api, server, slept, _ = api_on({("POST", "/tx"): answer, ("GET", f"/tx/{TXID}"): real.TX_NOT_FOUND,
                                    ("GET", f"/tx/{TXID}/status"): real.STATUS_OF_UNKNOWN_TX})
    with pytest.raises(TxRefused) as refused:
        await api.broadcast("00", TXID)
    assert (refused.value.reason, refused.value.code, refused.value.premature) == (reason, code, premature)
    assert server.calls.count(("POST", "/tx")) == 1 and slept == []  # a 4xx is final: not retried


@pytest.mark.parametrize("answer", [real.POST_FAILED, (400, {}, ""), (404, {}, "Not Found"),
                                    (400, {}, 'sendrawtransaction RPC error: {"code":"-26"}')])
async def test_a_4xx_that_is_not_the_nodes_refusal_is_an_error_but_not_a_refusal(answer):
    """mempool's backend says "Failed to send raw transaction" when bitcoind did not answer:
    the transaction may be out, so it must not be taken as refused for good."""
    api, server, *_ = api_on({("POST", "/tx"): answer, ("GET", f"/tx/{TXID}"): real.TX_NOT_FOUND})
    with pytest.raises(ChainApiError) as failure:
        await api.broadcast("00", TXID)
    assert not isinstance(failure.value, TxRefused)
    assert server.calls.count(("POST", "/tx")) == 1


def test_a_refusal_nested_too_deep_for_the_stack_is_no_refusal_and_no_crash():
    body = 'sendrawtransaction RPC error: {"code":-26,"message":' + "[" * 900 + "]" * 900 + "}"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 100)  # as if called deep in the page's stack
    try:
        assert TxRefused.from_answer(body) is None
    finally:
        sys.setrecursionlimit(limit)


async def test_a_refusal_of_a_transaction_the_api_already_has_counts_as_published():
    api, *_ = api_on({("POST", "/tx"): real.REFUSED_ALREADY_CONFIRMED,
                      ("GET", f"/tx/{TXID}"): ok({"txid": TXID, "status": {"confirmed": True, "block_height": 5}})})
    assert await api.broadcast("00", TXID) == TXID


# ---- transient failures ---------------------------------------------------------------------

async def test_a_rate_limit_waits_as_retry_after_asks_then_succeeds():
    api, server, slept, waits = api_on({("GET", "/blocks/tip/height"): [real.RATE_LIMITED, (200, {}, "840000")]})
    assert await api.tip_height() == 840_000
    assert slept == [3] and waits == ["The chain service is busy (HTTP 429); trying again in 3 s…"]


async def test_an_http_date_retry_after_is_honoured_and_a_huge_one_capped():
    later = (429, {"retry-after": "Fri, 15 Jan 2027 08:00:05 GMT"}, "")  # clock: 2027-01-15 08:00:00
    forever = (503, {"retry-after": "86400"}, "")
    api, _, slept, _ = api_on({("GET", "/blocks/tip/height"): [later, forever, (200, {}, "1")]})
    assert await api.tip_height() == 1
    assert slept == [5, 60]


async def test_server_errors_back_off_exponentially_then_give_up():
    api, server, slept, waits = api_on({("GET", "/fee-estimates"): real.UNAVAILABLE})
    with pytest.raises(ChainApiUnavailable, match="is failing \\(HTTP 503\\)"):
        await api.fee_rate()
    assert len(server.calls) == 4 and slept == [0.75, 1.5, 3.0]  # 2**n with the jitter at its middle
    assert all("HTTP 503" in w for w in waits)


async def test_an_unreachable_api_is_retried_then_unavailable():
    api, server, slept, _ = api_on({("GET", "/blocks/tip/height"): OSError("connection refused")})
    with pytest.raises(ChainApiUnavailable, match="unreachable \\(connection refused\\)"):
        await api.tip_height()
    assert len(server.calls) == 4


async def test_a_broadcast_that_hit_a_server_error_is_sent_again():
    api, server, *_ = api_on({("POST", "/tx"): [real.UNAVAILABLE, (200, {}, TXID)]})
    assert await api.broadcast("00", TXID) == TXID
    assert server.calls == [("POST", "/tx"), ("POST", "/tx")]


# ---- hostile answers: a ChainApiError, never another exception ---------------------------

@pytest.mark.parametrize("call, path, answer, message", [
    ("tip_height", "/blocks/tip/height", (200, {}, "١٢٣"), "bad tip height"),
    ("tip_height", "/blocks/tip/height", (200, {}, "12\n34"), "bad tip height"),
    ("tip_height", "/blocks/tip/height", (404, {}, "Not Found"), "HTTP 404"),
    ("fee_rate", "/fee-estimates", (200, {}, "[" * 100_000 + "]" * 100_000), "not valid JSON"),
    ("fee_rate", "/fee-estimates", (200, {}, '{"6": NaN}'), "not valid JSON"),
    ("fee_rate", "/fee-estimates", (200, {}, '{"٦": 2}'), "bad fee estimate"),
    ("fee_rate", "/fee-estimates", (200, {}, '{"6": -1}'), "bad fee estimate"),
    ("fee_rate", "/fee-estimates", (200, {}, '{"6": true}'), "bad fee estimate"),
    ("fee_rate", "/fee-estimates", (200, {}, '[1, 2]'), "not an object"),
    ("fee_rate", "/fee-estimates", (200, {}, "x" * (8 * 1024 * 1024 + 1)), "too many"),
])
async def test_a_broken_answer_is_a_chain_api_error(call, path, answer, message):
    api, *_ = api_on({("GET", path): answer})
    with pytest.raises(ChainApiError, match=message):
        await getattr(api, call)()


async def test_an_absurd_fee_rate_is_capped():
    api, *_ = api_on({("GET", "/fee-estimates"): ok({"1": 5e9, "6": 123456.7})})
    assert await api.fee_rate() == 1_000


@pytest.mark.parametrize("estimates, rate", [
    ({"1": 87.9, "6": 10.2, "144": 1.0}, 11),
    ({"1": 2.0}, 2),
    ({"144": 0.5}, 1),
    ({}, 1),  # electrs on regtest, where Core has no estimates yet
    ({"25": 3.0, "144": 0.5}, 3),  # nothing as fast as asked: the nearest slower target
])
async def test_fee_rate_is_a_whole_number_of_sat_per_vbyte_of_at_least_one(estimates, rate):
    api, *_ = api_on({("GET", "/fee-estimates"): ok(estimates)})
    assert await api.fee_rate() == rate


UTXO = {"txid": TXID, "vout": 0, "value": 1, "status": {"confirmed": True}}


@pytest.mark.parametrize("answer, message", [
    ([{**UTXO, "txid": "zz"}], "bad txid"),
    ([{**UTXO, "txid": TXID.upper()}], "bad txid"),
    ([{**UTXO, "value": -5}], "bad UTXO value"),
    ([{**UTXO, "value": True}], "bad UTXO value"),
    ([{**UTXO, "value": 10**16}], "bad UTXO value"),
    ([{**UTXO, "value": 1.0}], "bad UTXO value"),
    ([{**UTXO, "vout": "0"}], "bad vout"),
    ([{**UTXO, "status": {"confirmed": "yes"}}], "malformed UTXO status"),
    ([UTXO, dict(UTXO)], "listed the output .* twice"),
    ([{**UTXO, "vout": n, "value": 10**15} for n in range(3)], "more than 21 million"),
    ({"not": "a list"}, "not a list"),
    (["x"], "malformed UTXO"),
])
async def test_a_hostile_utxo_answer_is_refused(answer, message):
    api, *_ = api_on({("GET", "/address/x/utxo"): ok(answer)})
    with pytest.raises(ChainApiError, match=message):
        await api.address_utxos("x")


@pytest.mark.parametrize("path, answer, message", [
    (f"/tx/{TXID}/outspend/0", {"spent": "yes"}, "malformed outspend"),
    (f"/tx/{TXID}/outspend/0", {"spent": True, "txid": "nope"}, "bad spending txid"),
    (f"/tx/{TXID}", {"txid": TXID, "vout": [{"scriptpubkey": "zz", "value": 1}]}, "malformed output script"),
    (f"/tx/{TXID}", {"txid": TXID, "vout": [{"scriptpubkey": "00", "value": "5"}]}, "bad output value"),
    (f"/tx/{TXID}", {"txid": TXID, "vout": "none"}, "malformed transaction"),
    (f"/tx/{TXID}", {"txid": "cd" * 32, "vout": []}, "another transaction"),
])
async def test_a_hostile_outspend_or_transaction_answer_is_refused(path, answer, message):
    api, *_ = api_on({("GET", path): ok(answer)})
    call = api.outspend(TXID, 0) if "outspend" in path else api.tx_outputs(TXID)
    with pytest.raises(ChainApiError, match=message):
        await call


async def test_prices_are_mempool_spaces_and_none_where_the_service_has_none(client):
    answer = {"time": 1764645000, "USD": 97012, "EUR": 90150.5, "GBP": -1, "JPY": 0}  # as mempool.space answers
    api, *_ = api_on({("GET", "/v1/prices"): ok(answer)})
    assert await api.prices() == {"USD": 97012.0, "EUR": 90150.5}
    assert await esplora("/api", client).prices() == {}  # the devnet, like electrs, has no prices


@pytest.mark.parametrize("answer", [{"USD": "97000"}, {"USD": 1e13}, ["USD", 97000]])
async def test_a_hostile_price_is_refused(answer):
    api, *_ = api_on({("GET", "/v1/prices"): ok(answer)})
    with pytest.raises(ChainApiError):
        await api.prices()


@pytest.mark.parametrize("answer, message", [
    ("zz", "answered HTTP 200"), ("00", "do not parse"),
    # a real transaction, but not the one asked for
    ("0200000001" + "00" * 36 + "00ffffffff01e8030000000000001600140000000000000000000000000000000000000000"
     "00000000", "another transaction's bytes"),
])
async def test_a_transaction_whose_bytes_are_not_the_txid_asked_for_is_refused(answer, message):
    api, *_ = api_on({("GET", f"/tx/{TXID}/hex"): (200, {}, answer)})
    with pytest.raises(ChainApiError, match=message):
        await api.transaction(TXID)


@pytest.mark.parametrize("status", [
    {"confirmed": "no"}, {"confirmed": True}, {"confirmed": True, "block_height": -1}, "confirmed"])
async def test_a_hostile_transaction_status_is_refused(status):
    api, *_ = api_on({("GET", f"/tx/{TXID}"): ok({"txid": TXID, "status": status})})
    with pytest.raises(ChainApiError):
        await api.tx_status(TXID)


async def test_a_lying_broadcast_answer_is_refused():
    api, *_ = api_on({("POST", "/tx"): (200, {}, "cd" * 32)})
    with pytest.raises(ChainApiError, match="expected"):
        await api.broadcast("00", TXID)


async def test_a_tip_block_that_is_not_the_tip_is_refused():
    tip = "cd" * 32
    api, *_ = api_on({("GET", "/blocks/tip/hash"): (200, {}, tip),
                      ("GET", f"/block/{tip}"): ok({"id": "ef" * 32, "mediantime": 1})})
    with pytest.raises(ChainApiError, match="does not match"):
        await api.tip_median_time()


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                           max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | st.text() | st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
       status=st.sampled_from([200, 203, 404, 400, 429, 500, 503]))
async def test_any_answer_gives_a_checked_value_or_a_chain_api_error(body, status):
    text = body if isinstance(body, str) else json.dumps(body)
    paths = ["/blocks/tip/height", "/blocks/tip/hash", "/fee-estimates", "/address/x/utxo", f"/tx/{TXID}",
             f"/tx/{TXID}/outspend/0", "/tx"]
    answers = {("GET", p): (status, {}, text) for p in paths} | {("POST", "/tx"): (status, {}, text)}
    answers[("GET", "/block/" + TXID)] = (status, {}, text)
    api, *_ = api_on(answers)
    for call in (api.tip_height(), api.tip_median_time(), api.fee_rate(), api.address_utxos("x"),
                 api.tx_status(TXID), api.tx_outputs(TXID), api.outspend(TXID, 0), api.broadcast("00", TXID)):
        try:
            await call
        except ChainApiError:
            pass
