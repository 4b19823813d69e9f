"""SQLite's write-ahead log copied back into the database beside the writers, not inside their commits.

By default the commit that takes the log past 1,000 pages copies the log into the database file and syncs
both, before it returns: one filing in thirty paid about 5 ms for it, which was 60% of all filings' commit time
(half of the transitions'). A process that writes keeps a thread for it instead: after commits, it runs a
PASSIVE checkpoint on its own connection, which neither waits for nor blocks readers and writers, and copies a
page written many times once. The writers' own automatic checkpoint stays, ten times further out, for a
checkpointer that fell behind or could not open the file.

A checkpoint stopped halfway (the process killed) leaves the log whole; the next one copies it again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable

FALLBACK_PAGES = 10_000  # the writers' own automatic checkpoint while a checkpointer runs (SQLite's default: 1,000)
_EVERY_SECONDS = 0.05  # how often the checkpointer looks for commits to copy back

_log = logging.getLogger("redress.checkpoints")


class Checkpointer:
    """Checkpoints one SQLite file from a daemon thread while its owner lives and has committed since the last.

    `committed()` is all a writer calls (a counter, no lock); `stop()` ends the thread and closes its connection.
    The thread holds its owner weakly: an owner collected without `stop()` ends it too (within `_EVERY_SECONDS`).
    """

    def __init__(self, path: str, owner: object) -> None:
        self.path = path
        self.commits = 0
        self.checkpoints = 0  # runs that copied something back, for tests and operators
        self._stopping = threading.Event()
        alive: Callable[[], object | None] = weakref.ref(owner)
        self._thread = threading.Thread(target=self._run, args=(alive,), name="redress-checkpoints", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self.commits += 1

    def stop(self, wait_seconds: float = 5) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(wait_seconds)

    def _run(self, alive: Callable[[], object | None]) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        except sqlite3.Error as error:
            _log.warning("checkpoints: cannot open %s (%s); the writers checkpoint themselves", self.path, error)
            return
        seen = 0
        try:
            while not self._stopping.wait(_EVERY_SECONDS) and alive() is not None:
                if self.commits == seen:
                    continue
                seen = self.commits
                try:
                    _busy, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as error:  # a locked or vanished file: the writers' fallback still runs
                    _log.warning("checkpoints: %s: %s", self.path, error)
                    continue
                if copied > 0:
                    self.checkpoints += 1
        finally:
            connection.close()
