"""An on-disk cache of models stored as standard Hugging Face directories.

Layout::

    <cache_dir()>/models/<key>/config.json, model.safetensors, tokenizer files, ...
    <cache_dir()>/models/<key>/safetyheads-entry.json      # the completion marker, written last

``cache_dir()`` is ``$SAFETYHEADS_CACHE`` when set, else ``$XDG_CACHE_HOME/safetyheads``, else
``~/.cache/safetyheads``.

An entry is written into a temporary sibling directory, its files are flushed to disk, the marker
(listing every file with its size) is written last, and the directory is renamed into place. A reader
therefore never sees half an entry; and an entry whose marker is missing or unreadable, or whose files
do not have the sizes the marker lists (a half-copied or truncated entry), counts as absent and is
rebuilt. Temporary directories left by a crashed writer are removed by later writers.

Anything can fill an entry (see ``write_entry``); ``save_model_entry`` stores a (model, tokenizer) pair,
so a fine-tuned model can live in the same cache as the built-in ones and load with ``load_model``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "SAFETYHEADS_CACHE"
MARKER = "safetyheads-entry.json"
FORMAT = 1
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TEMP = re.compile(r"^\.(?P<key>.+)\.(?:tmp|old)-(?P<pid>\d+)-")
STALE_TEMP_SECONDS = 3600.0


def cache_dir() -> Path:
    """The root of the safetyheads cache (not created here)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "safetyheads"


def models_dir() -> Path:
    return cache_dir() / "models"


def entry_dir(key: str) -> Path:
    """Where the entry ``key`` lives (whether or not it exists)."""
    if not _KEY.match(key):
        raise ValueError(f"bad cache key {key!r}: use letters, digits, '.', '_' and '-'")
    return models_dir() / key


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker of the entry directory ``path``, or None when it is missing or unreadable."""
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("format") != FORMAT or not isinstance(marker.get("files"), dict):
        return None
    return marker


def is_complete(path: Path, expect: dict[str, Any] | None = None) -> bool:
    """Whether ``path`` holds a complete entry whose metadata has every item of ``expect``."""
    marker = read_marker(path)
    if marker is None or not marker["files"]:
        return False
    for name, size in marker["files"].items():
        try:
            if (path / name).stat().st_size != size:
                return False
        except OSError:
            return False
    meta = marker.get("meta") or {}
    return all(meta.get(k) == v for k, v in (expect or {}).items())


def complete_entry(key: str, expect: dict[str, Any] | None = None) -> Path | None:
    """The directory of entry ``key`` if it is complete (and matches ``expect``), else None."""
    path = entry_dir(key)
    return path if is_complete(path, expect) else None


def invalidate(key: str) -> None:
    """Mark entry ``key`` incomplete (its marker goes first), so the next ``ensure_entry`` rebuilds it."""
    path = entry_dir(key)
    (path / MARKER).unlink(missing_ok=True)


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temps(parent: Path | None = None, max_age: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove temporary directories of writers that died (process gone and older than ``max_age`` s)."""
    parent = models_dir() if parent is None else parent
    removed = []
    try:
        children = list(parent.iterdir())
    except OSError:
        return removed
    now = time.time()
    for child in children:
        m = _TEMP.match(child.name)
        if not m or not child.is_dir():
            continue
        try:
            age = now - child.stat().st_mtime
        except OSError:
            continue
        if age > max_age and not _pid_alive(int(m["pid"])):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def _install(tmp: Path, final: Path, key: str, meta: dict[str, Any]) -> None:
    """Rename the finished ``tmp`` to ``final``, replacing an incomplete or stale entry there."""
    for _attempt in range(5):
        try:
            os.rename(tmp, final)
            return
        except FileNotFoundError:
            raise
        except OSError:
            pass  # ``final`` exists and is not empty
        if is_complete(final, meta):  # another process finished the same entry first; keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{key}.old-{os.getpid()}-", dir=final.parent))
        try:
            os.rename(final, old / "entry")
        except FileNotFoundError:
            pass  # it vanished meanwhile; try again
        finally:
            shutil.rmtree(old, ignore_errors=True)
    raise OSError(f"could not move the new cache entry into place at {final}")


def write_entry(key: str, fill: Callable[[Path], None], meta: dict[str, Any] | None = None) -> Path:
    """Create (or replace) entry ``key`` atomically and return its directory.

    ``fill(tmp)`` writes the entry's files into the empty directory ``tmp``. ``meta`` (JSON-serialisable)
    is stored in the marker; ``complete_entry(key, expect)`` compares it. If ``fill`` raises, nothing is left.
    """
    final = entry_dir(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final.parent)
    meta = dict(meta or {})
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-{os.getpid()}-", dir=final.parent))
    try:
        fill(tmp)
        (tmp / MARKER).unlink(missing_ok=True)
        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                _fsync(p)
                files[p.relative_to(tmp).as_posix()] = p.stat().st_size
        if not files:
            raise ValueError(f"cache entry {key!r}: nothing was written")
        marker = {"format": FORMAT, "key": key, "created": time.time(), "files": files, "meta": meta}
        with open(tmp / MARKER, "w", encoding="utf-8") as f:
            json.dump(marker, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        _fsync(tmp, directory=True)
        _install(tmp, final, key, meta)
        _fsync(final.parent, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def ensure_entry(key: str, fill: Callable[[Path], None], meta: dict[str, Any] | None = None) -> tuple[Path, bool]:
    """The complete entry ``key`` matching ``meta``, built with ``fill`` if needed; also whether it was built."""
    found = complete_entry(key, meta)
    if found is not None:
        return found, False
    return write_entry(key, fill, meta), True


def clear_quantizer(model) -> None:
    """Forget a GGUF (or other) quantizer so that ``save_pretrained`` accepts the dequantised model."""
    model.hf_quantizer = None
    for attr in ("is_quantized", "is_loaded_in_8bit", "is_loaded_in_4bit"):
        if getattr(model, attr, False):
            setattr(model, attr, False)
    if getattr(model, "quantization_method", None) is not None:
        model.quantization_method = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def save_model_entry(key: str, model, tokenizer, meta: dict[str, Any] | None = None) -> Path:
    """Store ``model`` (as safetensors) and ``tokenizer`` as entry ``key``; ``load_model`` then loads it."""

    def fill(tmp: Path) -> None:
        clear_quantizer(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)

    return write_entry(key, fill, meta)
