"""An Esplora that answers the way mempool.space does, for the browser tests:
`python tests/browser/mempool_space.py --port N --data-dir D [--latency-ms 150]`.

Behind it is a devnet (whose API answers as electrs does, as mempool.space's /api
is electrs). In front, what mempool.space adds: /api/fee-estimates comes from
mempool's own backend with status 203 and its deprecation header (bitcoin.routes.ts,
getPreciseRecommendedFeesEsploraTransformed), every answer carries
`Access-Control-Allow-Origin: *`, and each request waits `--latency-ms` as on a real
link. With `--busy N` the first N fee-estimate requests are rate-limited (429 with
`Retry-After: 2`, exposed to the page through `Access-Control-Expose-Headers` so that the
page's reading of it is tested; whether mempool.space exposes it is not known). With
`--flaky-posts`, POST /tx answers 503, then 429, and lets only every third through, as a
public instance under load may (a client retrying each broadcast at once gets a 503 and a
429 before its transaction reaches the node). It runs on its own port,
so the app reaches it cross-origin.
"""

import argparse
import asyncio
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streamium_server.devnet import make_devnet_app  # noqa: E402

# mempool's recommended fees, as its backend reports them (sat/vB, fractional).
RECOMMENDED = {"fastestFee": 3.012, "halfHourFee": 2.204, "hourFee": 1.501, "economyFee": 1.0, "minimumFee": 1.0}
TARGETS = {**dict.fromkeys(("1", "2"), "fastestFee"), **dict.fromkeys(("3", "4", "5"), "halfHourFee"),
           **{str(n): "hourFee" for n in range(6, 26)}, "144": "economyFee", "504": "minimumFee",
           "1008": "minimumFee"}
WARNING = ("This endpoint is deprecated and will be removed in a future release. "
           "Please use /api/v1/fees/precise instead.")


def make_app(data_dir, latency_s: float, block_interval: float, busy: int, flaky_posts: bool) -> web.Application:
    refusals = {"left": busy}
    posts = {"count": 0}

    @web.middleware
    async def like_a_real_link(request, handler):
        await asyncio.sleep(latency_s)
        response = await handler(request)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def fee_estimates(request):
        if refusals["left"] > 0:
            refusals["left"] -= 1
            return web.Response(status=429, text="Too Many Requests",
                                headers={"Retry-After": "2", "Access-Control-Expose-Headers": "Retry-After"})
        body = {target: RECOMMENDED[name] for target, name in TARGETS.items()}
        return web.json_response(body, status=203, headers={"x-warning-from-mempool": WARNING})

    @web.middleware
    async def under_load(request, handler):
        if flaky_posts and request.method == "POST" and request.path == "/api/tx":
            posts["count"] += 1
            if posts["count"] % 3 == 1:
                return web.Response(status=503, text="Service Unavailable")
            if posts["count"] % 3 == 2:
                return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        return await handler(request)

    app = web.Application(middlewares=[like_a_real_link, under_load])
    app.router.add_get("/api/fee-estimates", fee_estimates)  # before the sub-app: it wins
    app.add_subapp("/api", make_devnet_app(data_dir, block_interval=block_interval))
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--block-interval", type=float, default=2.0)
    parser.add_argument("--busy", type=int, default=0, metavar="N")
    parser.add_argument("--flaky-posts", action="store_true")
    args = parser.parse_args()
    app = make_app(args.data_dir, args.latency_ms / 1000, args.block_interval, args.busy, args.flaky_posts)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
