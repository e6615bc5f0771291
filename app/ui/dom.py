"""Small DOM helpers. Text only: nothing is ever inserted as HTML."""

import js
from pyodide.ffi import create_proxy, to_js
from pyscript import document
from pyscript.ffi import is_none

_listeners = []  # keep proxies alive for as long as the page lives


def js_object(value):
    """A Python dict (nested ones too) as a plain JavaScript object, as browser APIs take them."""
    return to_js(value, dict_converter=js.Object.fromEntries)


def find(element_id):
    """The element, or None."""
    element = document.getElementById(element_id)
    return None if is_none(element) else element


def by_id(element_id):
    element = find(element_id)
    if element is None:
        raise LookupError(f"no element #{element_id}")
    return element


def set_text(element_id, text):
    by_id(element_id).textContent = str(text)


def show(element_id, visible=True):
    by_id(element_id).hidden = not visible


def on(element, event, handler):
    proxy = create_proxy(handler)
    _listeners.append(proxy)
    element.addEventListener(event, proxy)


def focus_heading(element_id):
    """Move the keyboard focus to the first heading of what just appeared (screen readers say it)."""
    heading = by_id(element_id).querySelector("h1, h2")
    if not is_none(heading):
        heading.setAttribute("tabindex", "-1")
        heading.focus()


def tx_link(href, text, testid=None):
    """A transaction's link to the explorer, opened beside the app."""
    anchor = document.createElement("a")
    anchor.href, anchor.target, anchor.rel, anchor.className = href, "_blank", "noopener", "txid"
    anchor.textContent = text
    if testid:
        anchor.setAttribute("data-testid", testid)
    return anchor
