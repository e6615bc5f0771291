"""The paywall in front of an HTTP server nobody here wrote: Python's own `http.server` (HTTP/1.0,
no keep-alive), serving files. A paid GET delivers the file byte for byte, its receipt signs
those bytes; a HEAD is charged with a receipt for the empty body it gets; a missing file is the
server's 404, an answer, so charged."""

import contextlib
import functools
import http.server
import threading

import aiohttp

from tests.paywall.conftest import PRICE, PaywallUnderTest, RawClient


@contextlib.contextmanager
def file_server(folder):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_files_from_pythons_http_server_are_sold_byte_for_byte(tmp_path, world):
    devnet, _, paywall, _ = world
    (tmp_path / "files" / "v1").mkdir(parents=True)
    data = bytes(range(256)) * 40
    (tmp_path / "files" / "v1" / "data.bin").write_bytes(data)
    with file_server(tmp_path / "files") as upstream:
        shop = await PaywallUnderTest(tmp_path / "shop", paywall.esplora_url, upstream).start()
        try:
            async with aiohttp.ClientSession() as session:
                client = await RawClient(session, shop.url, devnet).open()
                client.authorize(294)
                got = await client.request("GET", "/v1/data.bin")
                head = await client.request("HEAD", "/v1/data.bin")
                missing = await client.request("GET", "/v1/none.bin")
        finally:
            await shop.stop()
    assert (got[0], got[1], got[2].charged) == (200, data, PRICE)
    assert (head[0], head[1], head[2].charged, head[2].spent) == (200, b"", PRICE, 2 * PRICE)
    assert (missing[0], missing[2].charged) == (404, PRICE)
