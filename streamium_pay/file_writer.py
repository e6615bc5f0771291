"""Whole-file snapshots written atomically, in order, on one thread of their own.

The wallet is rewritten whole each time it changes, and the write waits for the disk (fsync)
before anything that depends on it goes out. Done on the event loop, that wait stalls every
request in flight (a millisecond or more each time); on this thread the loop goes on, and
only what depends on the snapshot waits for it. A snapshot queued while another is being
written replaces any older one still queued: each holds the whole file, so only the newest
needs the disk, and every caller waiting on an older one is told once the newer is written.
"""

import concurrent.futures
import os
import threading
from pathlib import Path
from typing import List, Optional


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old file or the new, never a mix."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself is durable
    finally:
        os.close(folder)


class FileWriter:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._queued: Optional[bytes] = None
        self._waiting: List[concurrent.futures.Future] = []
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-writer")
        self._busy = False
        self._closed = False
        self.latest: Optional[concurrent.futures.Future] = None  # done once the newest snapshot is written

    def write(self, data: bytes) -> concurrent.futures.Future:
        """Queue `data` as the file's next content; the future is done once it (or a newer
        snapshot) is on disk, or failed with the error of its write."""
        done = concurrent.futures.Future()
        done.set_running_or_notify_cancel()  # a waiter that gives up cannot cancel the write for the others
        with self._lock:
            if self._closed:
                raise OSError(f"{self.path} is closed: nothing more is written to it")
            self._queued = data
            self._waiting.append(done)
            self.latest = done
            if not self._busy:
                self._busy = True
                self._thread.submit(self._drain)
        return done

    def _drain(self) -> None:
        while True:
            with self._lock:
                data, waiting = self._queued, self._waiting
                self._queued, self._waiting = None, []
                if data is None:
                    self._busy = False
                    return
            try:
                write_atomically(self.path, data)
            except Exception as e:  # noqa: BLE001  (every waiter hears it; the thread goes on for the next)
                for done in waiting:
                    done.set_exception(e)
            else:
                for done in waiting:
                    done.set_result(None)

    def close(self) -> None:
        """After every queued snapshot is written; a write after this is refused (OSError)."""
        with self._lock:
            self._closed = True
        self._thread.shutdown(wait=True)
