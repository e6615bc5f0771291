"""The toy API the paywall tests put a price on, in-process or as its own process:
`python -m tests.paywall.toy_api --port N`."""

import argparse
import asyncio

from aiohttp import web


class ToyApi:
    """The upstream: /v1/echo answers what it got, /v1/fail a 500, /v1/slow after a while; it
    counts every call, so a test can show that a refused request never reached it."""

    def __init__(self):
        self.calls = 0

    def app(self) -> web.Application:
        async def echo(request):
            self.calls += 1
            return web.json_response({"path": request.path_qs, "body": (await request.read()).decode()})

        async def fail(request):
            self.calls += 1
            return web.Response(status=500, text="upstream broke")

        async def slow(request):
            self.calls += 1
            await asyncio.sleep(float(request.query.get("s", "0.2")))
            return web.json_response({"slept": True})

        app = web.Application()
        app.router.add_route("*", "/v1/echo", echo)
        app.router.add_route("*", "/v1/fail", fail)
        app.router.add_get("/v1/slow", slow)
        async def health(request):
            return web.Response(text="ok")

        app.router.add_get("/health", health)
        return app


def main():
    p = argparse.ArgumentParser(description="A toy HTTP API for the paywall tests")
    p.add_argument("--port", type=int, required=True)
    web.run_app(ToyApi().app(), host="127.0.0.1", port=p.parse_args().port, print=None, access_log=None)


if __name__ == "__main__":
    main()
