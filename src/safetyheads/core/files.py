"""Whole-file results written so that a reader sees the old file or the new one, never half (``runs.rundir``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _fsync_dir(path: Path) -> None:
    """Make a rename or truncation in ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """One JSON object per line, written whole (a reader sees the old file or the new one)."""
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))
