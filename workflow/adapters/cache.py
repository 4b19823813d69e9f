"""Redress's folder in the user's cache: files that only save time; losing one costs nothing else."""

from __future__ import annotations

import os
from pathlib import Path


def cache_folder() -> Path:
    """XDG_CACHE_HOME/redress, else ~/.cache/redress."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "redress"


def keep(path: Path, text: str) -> None:
    """Write a cache file atomically if the place is writable (a reader beside it sees the old file or the new)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # a read-only home only costs speed
