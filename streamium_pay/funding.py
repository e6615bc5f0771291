"""The wallet's own payments: exactly the amount a channel's funding address asks for, from the
wallet's coins, change back to the wallet's address."""

from typing import List, Set, Tuple

from app.channel import Utxo, address_script
from app.channel import transactions as txs
from app.esplora import TxRefused

from .errors import InsufficientFunds
from .wallet import Wallet


def payment(coins: List[Utxo], wallet: Wallet, address: str, amount: int, fee_rate: int):
    """A signed transaction paying exactly `amount` to `address` (output 0) from the fewest of
    `coins`, confirmed ones and larger ones first; InsufficientFunds if they all fall short."""
    destination = address_script(address, wallet.network)
    chosen = []
    for coin in sorted(coins, key=lambda c: (not c.confirmed, -c.value)):
        chosen.append(coin)
        try:
            tx = txs.funding_tx(chosen, destination, amount, wallet.script, fee_rate)
        except ValueError:
            continue  # not even the fee yet
        if tx.vout[0].value == amount:
            return txs.sign_funding(tx, chosen, wallet.key)
    have = sum(c.value for c in coins)
    need = amount + payment_fee(wallet, amount, fee_rate)
    hint = " (pay.py faucet)" if wallet.network == "regtest" else ""
    raise InsufficientFunds(f"the wallet has {have} sat, this channel needs {need} sat (its deposit, the funding "
                            f"fee and this payment's fee): send at least {need - have} sat to {wallet.address}{hint}")


def payment_fee(wallet: Wallet, amount: int, fee_rate: int) -> int:
    """The fee of paying `amount` from one coin of the wallet, with change."""
    coin = Utxo("00" * 32, 0, 2 * amount + 100_000)
    tx = txs.funding_tx([coin], wallet.script, amount, wallet.script, fee_rate)
    return coin.value - sum(out.value for out in tx.vout)


async def pay(api, wallet: Wallet, address: str, amount: int, fee_rate: int, spent: Set[Tuple[str, int]]) -> dict:
    """Pay exactly `amount` to `address` and publish it; the coin made, as the core's `funded`
    takes it. `spent`: coins this process already spent (the chain API may not show it yet),
    to which this payment's are added."""
    coins = [c for c in await api.address_utxos(wallet.address) if (c.txid, c.vout) not in spent]
    tx = payment(coins, wallet, address, amount, fee_rate)
    txid = txs.txid(tx)
    inputs = {(i.txid.hex(), i.vout) for i in tx.vin}
    spent.update(inputs)
    try:
        await api.broadcast(txs.tx_hex(tx), txid)
    except TxRefused:
        spent.difference_update(inputs)  # refused: the coins are still the wallet's
        raise
    return {"txid": txid, "vout": 0, "value": amount}
