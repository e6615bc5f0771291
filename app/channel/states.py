"""A channel's states by name (protocol §4 and v2 §C), and the questions pages ask of them.

Viewer:      joining → funding → refund_signed → open → closing → settling → closed,
             and expired when only the refund T2 is left (it too ends settling → closed).
Broadcaster: offered → refund_signed → open → closing → settling → closed.

`settling`: a transaction spending the funding output is on the chain (or in its mempool)
but not yet buried; each side still holds, and re-broadcasts, what protects it. Only
`closed` may be forgotten.
"""

JOINING = "joining"
FUNDING = "funding"
OFFERED = "offered"
REFUND_SIGNED = "refund_signed"
OPEN = "open"
CLOSING = "closing"
EXPIRED = "expired"
SETTLING = "settling"
CLOSED = "closed"

BURIED_CONFIRMATIONS = 6  # v2 §C: a closing transaction this deep is final (a devnet may lower it)

PRE_OPEN = (JOINING, FUNDING, OFFERED, REFUND_SIGNED)
LIVE = (REFUND_SIGNED, OPEN, CLOSING)
ENDED = (CLOSING, EXPIRED, SETTLING, CLOSED)


def is_live(state: str) -> bool:
    """Money may be in the channel and the peers still talk about it."""
    return state in LIVE


def is_over(state: str) -> bool:
    """Nothing more will be paid or served: the outcome can be shown."""
    return state in (SETTLING, CLOSED)


def watches_chain(state: str) -> bool:
    """The page must keep asking the chain about this channel (and re-broadcasting for it)."""
    return state in (REFUND_SIGNED, OPEN, CLOSING, EXPIRED, SETTLING)


def may_forget(state: str) -> bool:
    """Keys and signed transactions may be deleted: the closing transaction is buried."""
    return state == CLOSED
