"""Why an address typed into a form cannot be used, in words that say what to fix: another
network's address, a mistyped character (the checksum), a kind of output the channel cannot
pay, or not an address at all. The channel core only says yes or no (addresses.py)."""

from typing import Optional

from embit import base58, bech32

from app.channel import ProtocolError
from app.channel.addresses import NETWORK_PARAMS, address_script

NAMES = {"mainnet": "mainnet", "signet": "signet", "testnet4": "testnet", "regtest": "regtest (devnet)"}
BECH32_NETWORKS = {"bc": "mainnet", "tb": "signet or testnet", "bcrt": "regtest (devnet)"}
BASE58_NETWORKS = {b"\x00": "mainnet", b"\x05": "mainnet", b"\x6f": "a test network", b"\xc4": "a test network"}
BECH32_CHARS = set("qpzry9x8gf2tvdw0s3jn54khce6mua7l")


def problem(text: str, network: str) -> Optional[str]:
    """None if `text` is a usable `network` address, else what is wrong with it."""
    address = text.strip()
    if not address:
        return "Enter a bitcoin address."
    here = NAMES[network]
    try:
        address_script(address, network)
        return None
    except ProtocolError:
        pass
    hrp, sep, rest = address.lower().rpartition("1")
    if sep and hrp in BECH32_NETWORKS and rest and set(rest) <= BECH32_CHARS:
        if address != address.lower() and address != address.upper():
            return "This address mixes capital and small letters: type it in one case."
        if hrp != NETWORK_PARAMS[network]["bech32"]:
            return f"This is a {BECH32_NETWORKS[hrp]} address; this stream is on {here}."
        if bech32.bech32_decode(address)[0] is None:
            return "The address's checksum does not match: a character is mistyped."
        return "This kind of address cannot be paid by a channel: use a bc1q… or bc1p… style address."
    try:
        data = base58.decode_check(address)
    except Exception:  # noqa: BLE001  (embit says why in its own words; ours follow)
        data = None
        if address.isalnum() and len(address) >= 25 and address[0] in "123mn":
            return "The address's checksum does not match: a character is mistyped."
    if data is not None and data[:1] in BASE58_NETWORKS:
        return f"This is a {BASE58_NETWORKS[data[:1]]} address; this stream is on {here}."
    return f"This is not a bitcoin address (a {here} address starts with " \
           f"{NETWORK_PARAMS[network]['bech32']}1…)."
