"""Small DOM helpers. Text only: nothing is ever inserted as HTML."""

from pyodide.ffi import create_proxy
from pyscript import document

_listeners = []  # keep proxies alive for as long as the page lives


def by_id(element_id):
    element = document.getElementById(element_id)
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
