"""Addresses of one network only, and Bitcoin Core's dust threshold per output script."""

from embit import base58, bech32
from embit.networks import NETWORKS
from embit.script import Script

from .errors import ProtocolError, BAD_MESSAGE

# Protocol network name -> embit's parameters (testnet4 shares testnet's prefixes).
NETWORK_PARAMS = {
    "regtest": NETWORKS["regtest"],
    "signet": NETWORKS["signet"],
    "testnet4": NETWORKS["test"],
    "mainnet": NETWORKS["main"],
}

# Core's GetDustThreshold at 3 sat/vB, by script type (protocol §1).
DUST = {"p2wpkh": 294, "p2wsh": 330, "p2tr": 330, "p2sh": 540, "p2pkh": 546}


def dust(script_pubkey: bytes) -> int:
    """Smallest standard value of an output paying `script_pubkey`."""
    kind = Script(script_pubkey).script_type()
    if kind not in DUST:
        raise ValueError("no dust threshold for this output script")
    return DUST[kind]


def address_script(address: str, network: str) -> bytes:
    """The output script of `address`, which MUST belong to `network`.

    Only the five script types with a dust threshold in §1 are accepted, so every
    output the channel builds is standard.
    """
    params = NETWORK_PARAMS[network]
    if not isinstance(address, str) or not 14 <= len(address) <= 90 or not address.isascii():
        raise ProtocolError(BAD_MESSAGE, "malformed address")
    hrp = params["bech32"]
    if address.lower().startswith(hrp + "1"):
        try:
            version, program = bech32.decode(hrp, address)
        except Exception:
            version, program = None, None
        if version == 0 and len(program) in (20, 32):
            return bytes([0, len(program)] + program)
        if version == 1 and len(program) == 32:
            return bytes([0x51, 32] + program)
        raise ProtocolError(BAD_MESSAGE, f"address {address!r} is not a usable {network} address")
    try:
        data = base58.decode_check(address)
    except Exception:
        raise ProtocolError(BAD_MESSAGE, f"address {address!r} is not a {network} address")
    if len(data) == 21 and data[:1] == params["p2pkh"]:
        return b"\x76\xa9\x14" + data[1:] + b"\x88\xac"
    if len(data) == 21 and data[:1] == params["p2sh"]:
        return b"\xa9\x14" + data[1:] + b"\x87"
    raise ProtocolError(BAD_MESSAGE, f"address {address!r} is not a {network} address")


def script_address(script_pubkey: bytes, network: str) -> str:
    """The address of an output script on `network` (for showing to the user)."""
    return Script(script_pubkey).address(NETWORK_PARAMS[network])
