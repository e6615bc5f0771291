"""The one aiohttp application behind serve.py.

It composes what a deployment needs: the static app, /config.json describing
where the chain API, the signalling server and any media relay are, and, when they
are ours, the PeerJS-compatible signalling (/peerjs), the regtest devnet (/api, and
its transaction pages at /explorer/tx/<txid>) and a local Janus (--sfu janus).
"""

from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from .client_config import EXPLORERS, client_config
from .static import static_handler

DEFAULT_ESPLORA = {
    "signet": "https://mempool.space/signet/api",
    "testnet4": "https://mempool.space/testnet4/api",
    "mainnet": "https://mempool.space/api",
}

# The built-in signalling at this server's own origin: null host/port/secure
# tell the page to use its own location.
BUILTIN_PEER = {"host": None, "port": None, "path": "/peerjs", "key": "peerjs", "secure": None}


@dataclass
class ServerOptions:
    root: Path
    network: str = "regtest"
    esplora: str | None = None
    explorer: str | None = None
    peer: dict | None = None          # None: built-in signalling
    ice_servers: list = field(default_factory=list)
    devnet: bool = True
    block_interval: float = 10.0
    data_dir: Path = Path(".devnet")
    reset: bool = False
    buried: int = 6  # confirmations before a channel's closing transaction counts as final (v2 §C)
    sfu: dict | None = None  # the media relay /config.json names; None: video browser to browser
    janus_port: int | None = None  # start a local Janus on this port (serve.py --sfu janus)
    janus_interface: str | None = None  # the one interface its media uses (--sfu-interface)

    def config(self) -> dict:
        esplora = "/api" if self.devnet else (self.esplora or DEFAULT_ESPLORA[self.network])
        explorer = self.explorer or ("/explorer" if self.devnet else EXPLORERS.get(self.network, esplora))
        return client_config(network=self.network, esplora=esplora, explorer=explorer,
                             peer=self.peer or BUILTIN_PEER, ice_servers=self.ice_servers,
                             devnet=self.devnet, buried=self.buried, sfu=self.sfu)

    def describe(self) -> str:
        chain = f"devnet in {self.data_dir}" if self.devnet else f"Esplora {self.config()['esplora']}"
        peer = "built-in signalling" if self.peer is None else f"PeerJS server {self.peer['host']}"
        relay = "" if self.sfu is None else (f", Janus on port {self.janus_port}" if self.janus_port
                                              else f", Janus at {self.sfu['host']}")
        return f"{self.network}, {chain}, {peer}{relay}"


def make_app(options: ServerOptions) -> web.Application:
    app = web.Application()
    config = options.config()

    async def config_json(request):
        return web.json_response(config, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/config.json", config_json)
    if options.peer is None:
        from .signalling import make_signalling_app
        app.add_subapp("/peerjs", make_signalling_app())
    if options.devnet:
        from .devnet import make_devnet_app
        from .devnet.explorer import transaction_page
        devnet_app = make_devnet_app(options.data_dir, block_interval=options.block_interval, reset=options.reset)
        app.add_subapp("/api", devnet_app)
        app.router.add_get("/explorer/tx/{txid}", transaction_page(devnet_app))
    if options.janus_port:
        from .janus import JanusProcess

        async def janus(app):
            relay = JanusProcess(options.data_dir / "janus", options.janus_port, options.janus_port + 1,
                                 interface=options.janus_interface)
            await relay.start()
            print(f"serve.py: the relay's key, for your broadcasts' form (it lets a page open rooms on this "
                  f"relay: give it only to broadcasters you trust): {relay.room_key}", flush=True)
            yield
            await relay.stop()
        app.cleanup_ctx.append(janus)
    app.router.add_get("/{path:.*}", static_handler(options.root))
    return app
