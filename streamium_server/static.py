"""Serve the app's files, and nothing else of the project folder.

Only the page, its config, its service worker and the `app/` and `assets/` trees are public; the rest
of the checkout (.git, .venv, .devnet, tests) is not. Paths are resolved and must
stay inside an allowed tree, so `..`, absolute paths and symlinks pointing out
are refused; directories are never listed.
"""

import re
from pathlib import Path

from aiohttp import web

PUBLIC_FILES = {"index.html", "pyscript.toml", "config.json", "sw.js"}
PUBLIC_TREES = ("app", "assets")

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".toml": "text/plain",
    ".py": "text/plain",
    ".zip": "application/zip",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}

# A name that changes with the contents is kept for a year without asking again: this build's
# runtime folder (tools/runtime_dir.py) and PyScript's chunks, hashed by its bundler. A fixed
# name (the page, the app zip, the rest of the vendored files) is revalidated on each load,
# cheaply, by ETag, so an upgrade never meets a stale copy.
IMMUTABLE = re.compile(r"/assets/build/runtime/[0-9a-f]{16}/[^/]+|/assets/vendor/pyscript/[\w-]+-[\w-]{8}\.js")
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
REVALIDATED = "no-cache"


def resolve_public(root: Path, rel: str) -> Path | None:
    """The file for URL path `rel`, or None when it is not public."""
    rel = rel.lstrip("/") or "index.html"
    if "\\" in rel or "\0" in rel:
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if len(parts) == 1 and parts[0] not in PUBLIC_FILES:
        return None
    if len(parts) > 1 and parts[0] not in PUBLIC_TREES:
        return None
    try:
        path = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    allowed = [root.resolve() / name for name in PUBLIC_TREES]
    if len(parts) == 1:
        if path.parent != root.resolve():
            return None
    elif not any(path.is_relative_to(tree) for tree in allowed):
        return None
    return path if path.is_file() else None


def static_handler(root: Path):
    async def handle(request: web.Request) -> web.StreamResponse:
        path = resolve_public(root, request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound(text="Not found\n")
        headers = {
            "Cache-Control": IMMUTABLE_CACHE if IMMUTABLE.fullmatch(request.path) else REVALIDATED,
            "X-Content-Type-Options": "nosniff",
        }
        content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        response = web.FileResponse(path, headers=headers)
        response.content_type = content_type
        return response

    return handle
