"""Hash routes (#/, #/broadcast, #/watch/...) to screens, so links work on any static host."""

from pyscript import window

from app.ui.dom import by_id, on, show

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
    """#/watch/... for a pasted share link or a bare stream name."""
    text = text.strip()
    if "#/watch/" in text:
        return "#/watch/" + text.split("#/watch/", 1)[1]
    return "#/watch/" + text


def start(config=None):
    _state["config"] = config
    form = by_id("home-watch-form")

    def submit(event):
        event.preventDefault()
        window.location.hash = watch_route(by_id("home-watch-input").value)

    on(form, "submit", submit)
    on(window, "hashchange", show_route)
    show_route()
