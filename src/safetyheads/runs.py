"""Run directories: settings that guard resumes, and results streamed to disk as they are made."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from safetyheads.types import SafetyHeadsError

SETTINGS_FILE = "run.json"


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


class RunDir:
    """An output directory. ``settings`` are recorded per command; a resume must match them."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        return self.path / name

    def check_settings(self, command: str, settings: dict[str, Any]) -> None:
        """Record ``settings`` for ``command``, or refuse if an earlier run used different ones."""
        file = self.file(SETTINGS_FILE)
        recorded: dict[str, Any] = json.loads(file.read_text()) if file.exists() else {}
        settings = json.loads(json.dumps(settings))  # normalise tuples, paths
        previous = recorded.get(command)
        if previous is not None and previous != settings:
            changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
            details = "; ".join(f"{k}: {previous.get(k)!r} -> {settings.get(k)!r}" for k in changed)
            raise SafetyHeadsError(
                f"{self.path} holds a '{command}' run with other settings ({details}); "
                "use a new --out directory or the original settings"
            )
        recorded[command] = settings
        write_json(file, recorded)

    def read_jsonl(self, name: str) -> list[dict]:
        """Complete records of a results file. A torn or corrupt tail is cut off so it is redone."""
        file = self.file(name)
        if not file.exists():
            return []
        records, good_bytes = [], 0
        with open(file, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                try:
                    records.append(json.loads(raw))
                except (json.JSONDecodeError, UnicodeDecodeError):
                    break
                good_bytes += len(raw)
        if good_bytes != file.stat().st_size:
            with open(file, "r+b") as f:
                f.truncate(good_bytes)
        return records

    def append_jsonl(self, name: str, record: dict) -> None:
        with open(self.file(name), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
