"""Channel records in localStorage, as JSON: synchronous, so a `persist` is durable
before the next action runs (the write-ahead order of protocol §7).

Records hold channel secrets; they never leave this device.
"""

import json

from pyscript import window

PREFIX = "streamium:"


def _store():
    return window.localStorage


def put(key, value):
    _store().setItem(PREFIX + key, json.dumps(value, separators=(",", ":")))


def get(key, default=None):
    text = _store().getItem(PREFIX + key)
    if not isinstance(text, str):  # null comes back as JsNull
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def delete(key):
    _store().removeItem(PREFIX + key)


def keys(prefix=""):
    """Every stored key under `prefix` (without the module's own PREFIX)."""
    store, found = _store(), []
    for i in range(store.length):
        name = store.key(i)
        if isinstance(name, str) and name.startswith(PREFIX + prefix):
            found.append(name[len(PREFIX):])
    return sorted(found)
