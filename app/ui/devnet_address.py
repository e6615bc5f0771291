"""A devnet address of this browser's own (its key kept in localStorage under `key`): the
payout or refund address a newcomer on the devnet has no wallet to give. Never on a real network."""

import os

from app.channel import new_secret
from app.channel.addresses import script_address
from app.channel.script import p2wpkh
from app.channel.signatures import private_key
from app.ui import storage


def own_address(key: str, network: str) -> str:
    if network != "regtest":
        raise ValueError("a browser's own address is for the devnet only")
    secret = storage.get(key)
    if secret is None:
        secret = new_secret(os.urandom).hex()
        storage.put(key, secret)
    return script_address(p2wpkh(private_key(bytes.fromhex(secret)).sec()), network)
