"""Hash routes (#/, #/broadcast, #/watch/...) to screens, so links work on any static host."""

from pyscript import window

from app.ui import field_errors
from app.ui.dom import by_id, focus_heading, on, show

SCREENS = ("screen-home", "screen-broadcast", "screen-watch")


def screen_for(hash_value):
    route = hash_value.lstrip("#").strip("/")
    if route.startswith("broadcast"):
        return "screen-broadcast"
    if route.startswith("watch"):
        return "screen-watch"
    return "screen-home"


_state = {"config": None, "screen": None, "fragment": None}


def show_route(*_):
    current = screen_for(window.location.hash)
    for screen in SCREENS:
        show(screen, screen == current)
    focus_heading(current)
    enter(current, str(window.location.hash))


def enter(screen, fragment):
    """Start a screen's controller once per page load; a different stream needs a fresh page."""
    started = _state["screen"]
    if screen == "screen-home" or _state["config"] is None:
        return
    if started is not None:
        if started != screen or (screen == "screen-watch" and fragment != _state["fragment"]):
            window.location.reload()
        return
    _state["screen"], _state["fragment"] = screen, fragment
    if screen == "screen-broadcast":
        from app.ui.broadcast import BroadcastPage
        BroadcastPage(_state["config"]).enter()
    else:
        from app.ui.watch import WatchPage
        WatchPage(_state["config"], fragment).enter()


def watch_route(text):
    """#/watch/... of a pasted share link. A bare name is refused: only the link's key says who
    the broadcaster is (a name is anyone's to take on the signalling server)."""
    text = text.strip()
    if "#/watch/" not in text:
        raise field_errors.FieldError("home-watch-input", "Paste the whole share link the broadcaster gave you: "
                                      "a stream name alone cannot tell the real broadcaster from an impostor.")
    return "#/watch/" + text.split("#/watch/", 1)[1]


def start(config=None):
    _state["config"] = config
    form = by_id("home-watch-form")

    def submit(event):
        event.preventDefault()
        try:
            window.location.hash = watch_route(by_id("home-watch-input").value)
        except field_errors.FieldError as wrong:
            field_errors.show_error(wrong)

    on(form, "submit", submit)
    field_errors.clear_when_changed("home-watch-input")
    on(window, "hashchange", show_route)
    show_route()
