"""Streamium's devnet: a regtest chain validated block by block by Bitcoin
Core's consensus code, served as an Esplora-compatible REST API."""

from .api import DEVNET, make_devnet_app
from .node import Devnet

__all__ = ["DEVNET", "Devnet", "make_devnet_app"]
