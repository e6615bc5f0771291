"""A form's address is refused in words that say what to fix."""

import pytest
from embit.ec import PrivateKey
from embit.networks import NETWORKS
from embit.script import p2pkh, p2wpkh

from app.address_check import problem

KEY = PrivateKey(bytes([3]) * 32).get_public_key()
REGTEST = p2wpkh(KEY).address(NETWORKS["regtest"])
MAINNET = p2wpkh(KEY).address(NETWORKS["main"])
SIGNET = p2wpkh(KEY).address(NETWORKS["signet"])
LEGACY_MAINNET = p2pkh(KEY).address(NETWORKS["main"])


def mistyped(address):
    last = "q" if address[-1] != "q" else "p"
    return address[:-1] + last


def test_a_usable_address_has_no_problem():
    assert problem(REGTEST, "regtest") is None and problem(f"  {MAINNET} ", "mainnet") is None


@pytest.mark.parametrize("text, network, says", [
    ("", "regtest", "Enter a bitcoin address."),
    (MAINNET, "regtest", "This is a mainnet address; this stream is on regtest (devnet)."),
    (SIGNET, "mainnet", "This is a signet or testnet address; this stream is on mainnet."),
    (REGTEST, "signet", "This is a regtest (devnet) address; this stream is on signet."),
    (LEGACY_MAINNET, "regtest", "This is a mainnet address; this stream is on regtest (devnet)."),
    (mistyped(REGTEST), "regtest", "checksum does not match"),
    (mistyped(LEGACY_MAINNET), "mainnet", "checksum does not match"),
    (REGTEST[:6] + REGTEST[6:].upper(), "regtest", "mixes capital and small letters"),
    ("hello", "regtest", "This is not a bitcoin address (a regtest (devnet) address starts with bcrt1…)."),
])
def test_each_kind_of_wrong_address_says_what_to_fix(text, network, says):
    assert says in problem(text, network)
