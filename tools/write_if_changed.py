"""One way the build writes its small generated files (the offline manifest, runtime.mjs)."""

from pathlib import Path


def write_if_changed(path: Path, text: str):
    """`text` into `path` unless it holds it already (so a file's ETag and mtime change only with
    it), through a temporary file, so that a server never sends half of it."""
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
