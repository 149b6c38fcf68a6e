"""Run directories: settings that guard resumes, and results streamed to disk as they are made.

Crash safety rests on four rules:

* results files (``*.jsonl``) are only ever appended to, one complete line per result, in result order,
  each line flushed and fsynced before the next result is computed; so after ``kill -9`` or a power cut
  the file is a prefix of the uninterrupted file, perhaps followed by one torn line;
* on resume, ``read_jsonl`` keeps the longest prefix of lines that parse and pass the caller's check and
  cuts the rest off the file (a torn, corrupt or out-of-place line, and everything after it, is redone);
* whole-file results (``sahara.json``, summaries) are written to a temporary file, fsynced and renamed
  over the old one, then the directory is fsynced: a reader sees the old or the new file, never half;
* ``run.json`` records each command's settings and the model's fingerprint; a resume with other
  settings or other weights is refused, and one process at a time may write a command's results
  (``RunDir.lock``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from safetyheads.core.files import _fsync_dir, atomic_write_text, write_json  # noqa: F401 (re-exported)
from safetyheads.types import AblationSpec, Head, ModelShape, SafetyHeadsError

SETTINGS_FILE = "run.json"
PROVENANCE_KEY = "_provenance"  # run.json key holding per-command provenance (not a command's settings)


def check_batch_size(batch_size: int | None) -> None:
    """``--batch-size`` is None (automatic) or at least 1: 0 would quietly mean automatic, below 0 compute nothing."""
    if batch_size is not None and batch_size < 1:
        raise SafetyHeadsError(f"--batch-size must be at least 1, not {batch_size}")


class RunDir:
    """An output directory. ``settings`` are recorded per command; a resume must match them."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        return self.path / name

    @contextlib.contextmanager
    def _settings_lock(self) -> Iterator[None]:
        """Serialise read-modify-write of run.json between processes sharing this directory."""
        with _flock(self.file(f".{SETTINGS_FILE}.lock"), blocking=True):
            yield

    def _read_settings(self) -> dict[str, Any]:
        file = self.file(SETTINGS_FILE)
        if not file.exists():
            return {}
        try:
            recorded = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SafetyHeadsError(
                f"{file} is corrupt ({err}); it guards resumes, so fix or delete it (deleting it lets any "
                "settings resume the results here) or use a new --out directory"
            ) from None
        if not isinstance(recorded, dict):
            raise SafetyHeadsError(f"{file} is not a JSON object; fix or delete it, or use a new --out directory")
        return recorded

    def settings(self) -> dict[str, Any]:
        """Everything recorded in run.json: ``{command: settings, "_provenance": {command: info}}``."""
        return self._read_settings()

    def check_settings(
        self,
        command: str,
        settings: dict[str, Any],
        results: Sequence[str] = (),
        defaults: dict[str, Any] | None = None,
    ) -> None:
        """Record ``settings`` for ``command``, or refuse if an earlier run used different ones.

        When ``results`` names the command's result files and none of them holds anything yet (say the earlier
        run failed to load its model), there is nothing to mix, and the new settings replace the old ones.
        ``defaults`` holds settings that earlier versions did not record: a recorded run without one of these
        keys counts as having run with its default value.
        """
        if command == PROVENANCE_KEY:
            raise ValueError(f"'{PROVENANCE_KEY}' is reserved")
        settings = json.loads(json.dumps(settings))  # normalise tuples, paths
        with self._settings_lock():
            recorded = self._read_settings()
            previous = recorded.get(command)
            if previous is not None and defaults:
                previous = {**json.loads(json.dumps(defaults)), **previous}
            produced = any(self.file(name).exists() and self.file(name).stat().st_size > 0 for name in results)
            if previous is not None and previous != settings and (produced or not results):
                changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
                details = "; ".join(describe_change(k, previous.get(k), settings.get(k)) for k in changed)
                raise SafetyHeadsError(
                    f"{self.path} holds a '{command}' run with other settings ({details}); "
                    "use a new --out directory or the original settings"
                )
            recorded[command] = settings
            write_json(self.file(SETTINGS_FILE), recorded)

    def record_provenance(
        self, command: str, info: dict[str, Any], batch_size: int | None | str = "not given"
    ) -> dict[str, Any]:
        """Record where ``command``'s results come from (model source, fingerprint, versions, host).

        Refuses when an earlier run of ``command`` here used a model with another ``fingerprint`` (the
        same name pointing at other weights, or another dtype), or computed on another kind of device, in another
        dtype, with another batch size (padding and batched kernels change results) or, on a CPU, another thread
        count: its results would be mixed with these. ``batch_size`` is the command's (None: automatic).
        Returns the merged record: ``created`` is kept from the first run, ``starts`` counts the runs.
        """
        info = json.loads(json.dumps(info))
        if isinstance(batch_size, int):
            check_batch_size(batch_size)
        if batch_size != "not given":
            info["batch_size"] = "auto" if batch_size is None else int(batch_size)
        if "device" in info and info.get("backend") != "ray":  # Ray workers keep their own thread counts
            info["threads"] = _threads_if_cpu(str(info["device"]))
        with self._settings_lock():
            recorded = self._read_settings()
            all_prov = recorded.setdefault(PROVENANCE_KEY, {})
            previous = all_prov.get(command) or {}
            _check_same_weights(self.path, command, previous, info)
            changed = [
                f"{key}: {previous[key]!r} -> {info.get(key)!r}"
                for key in RESULT_AFFECTING
                if key in previous and key in info and _normal(key, previous[key]) != _normal(key, info[key])
            ]
            if changed:
                raise SafetyHeadsError(
                    f"{self.path} holds a '{command}' run computed otherwise ({'; '.join(changed)}); its results "
                    "would differ from these in the last digits or more. Use a new --out directory or the "
                    "original device, dtype, batch size and thread count (OMP_NUM_THREADS)"
                )
            now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            merged = {
                **info,
                "created": previous.get("created", now),
                "updated": now,
                "starts": int(previous.get("starts", 0)) + 1,
            }
            all_prov[command] = merged
            write_json(self.file(SETTINGS_FILE), recorded)
        return merged

    @contextlib.contextmanager
    def lock(self, command: str) -> Iterator[None]:
        """Hold the right to write ``command``'s results here; refuse if another live process holds it.

        The lock is an ``flock`` on a file in the directory: the kernel drops it when its process dies,
        so a run killed with ``kill -9`` never leaves a stale lock behind.
        """
        path = self.file(f".{command}.lock")
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(_flock(path, blocking=False))
        except BlockingIOError:
            holder = ""
            with contextlib.suppress(OSError):
                holder = path.read_text().strip()
            raise SafetyHeadsError(
                f"another process ({holder or 'unknown pid'}) is writing '{command}' results in {self.path}; "
                "wait for it to finish or use another --out directory"
            ) from None
        with stack:
            yield

    def read_jsonl(self, name: str, valid: Callable[[int, dict], bool] | None = None) -> list[dict]:
        """Complete records of a results file. A torn or corrupt tail is cut off so it is redone.

        A line counts when it ends in a newline, parses as a JSON object and, given ``valid``, when
        ``valid(position, record)`` is true. The first line that does not count, and every line after
        it, are cut from the file: what remains is always a prefix of an uninterrupted run's file.
        """
        records, _cut = self.repair_jsonl(name, valid)
        return records

    def repair_jsonl(self, name: str, valid: Callable[[int, dict], bool] | None = None) -> tuple[list[dict], int]:
        """``read_jsonl``, also returning how many bytes were cut off (0 when the file was intact)."""
        file = self.file(name)
        if not file.exists():
            return [], 0
        records: list[dict] = []
        good_bytes = 0
        with open(file, "rb") as f:
            for raw in f:
                record = _parse_line(raw)
                if record is None:
                    break
                if valid is not None:
                    try:
                        ok = bool(valid(len(records), record))
                    except (KeyError, IndexError, TypeError, ValueError):
                        ok = False
                    if not ok:
                        break
                records.append(record)
                good_bytes += len(raw)
        size = file.stat().st_size
        if good_bytes != size:
            with open(file, "r+b") as f:
                f.truncate(good_bytes)
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(self.path)
        return records, size - good_bytes

    def append_jsonl(self, name: str, record: dict) -> None:
        """Append one record as one line, with a single write, flushed to disk before returning."""
        data = (json.dumps(record) + "\n").encode("utf-8")
        fd = os.open(self.file(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)


def _parse_line(raw: bytes) -> dict | None:
    """The JSON object on one complete line, or None for a torn, corrupt or non-object line."""
    if not raw.endswith(b"\n"):
        return None
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def read_jsonl_readonly(path: str | Path) -> list[dict]:
    """The complete leading records of a results file, without repairing it (for readers such as the report)."""
    path = Path(path)
    records: list[dict] = []
    try:
        with open(path, "rb") as f:
            for raw in f:
                record = _parse_line(raw)
                if record is None:
                    break
                records.append(record)
    except FileNotFoundError:
        return []
    return records


@contextlib.contextmanager
def _flock(path: Path, blocking: bool) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed); the file holds the owner's pid and host."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; run without them
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise BlockingIOError(err.errno, "locked") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


RESULT_AFFECTING = ("device", "requested_dtype", "batch_size", "threads")


def _normal(key: str, value: Any) -> Any:
    return str(value).split(":")[0] if key == "device" else value  # cuda:0 and cuda:1 compute alike


def _threads_if_cpu(device: str) -> int | None:
    """Torch's CPU thread count (it changes the order of float reductions); None on accelerators."""
    if not device.startswith("cpu"):
        return None
    import torch

    return torch.get_num_threads()


def _check_same_weights(path: Path, command: str, previous: dict, info: dict) -> None:
    """Refuse another model's weights. Runs recorded before every value was fingerprinted (no ``fingerprint_kind``)
    are compared by the sampled fingerprint they recorded."""
    if previous.get("fingerprint_kind") == FINGERPRINT_KIND:
        old, new = previous.get("fingerprint"), info.get("fingerprint")
    else:
        old, new = previous.get("fingerprint"), info.get("sample_fingerprint")
    if old is not None and new is not None and old != new:
        raise SafetyHeadsError(
            f"{path} holds a '{command}' run made with other model weights (fingerprint {old} -> "
            f"{new}: the same --model name now holds a different model, or another --dtype); "
            "use a new --out directory or the original model"
        )


FINGERPRINT_KIND = "every-value"


def model_fingerprint(model: Any) -> str:
    """A short hash of a model's parameters and buffers: names, shapes, dtypes and the raw bytes of every value.

    xxHash (XXH3-128) reads several GiB/s on one core, so one changed value anywhere changes it and it stays cheap
    for a 7B model (``benchmarks/bench_fingerprint.py``; measured in docs/runs.md). Tensors on an accelerator are
    copied to the host one at a time.
    """
    import torch
    import xxhash

    h = xxhash.xxh3_128(f"{FINGERPRINT_KIND}|{type(model).__name__}".encode())
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            h.update(f"|{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
            if tensor.device.type == "meta" or tensor.numel() == 0:
                continue
            raw = tensor.detach().reshape(-1).cpu().contiguous().view(torch.uint8)
            h.update(memoryview(raw.numpy()))
    return h.hexdigest()[:16]


def sample_fingerprint(model: Any) -> str:
    """The fingerprint runs recorded before ``model_fingerprint`` covered every value (names, shapes, dtypes and
    64 values from each end of every parameter); kept to compare with those runs."""
    import torch

    h = hashlib.sha256(type(model).__name__.encode())
    with torch.no_grad():
        for name, param in model.named_parameters():
            flat = param.detach().reshape(-1)
            h.update(f"{name}|{tuple(param.shape)}|{param.dtype}".encode())
            if flat.device.type == "meta" or flat.numel() == 0:
                continue
            sample = torch.cat([flat[:64], flat[-64:]]).float().cpu().numpy()
            h.update(sample.tobytes())
    return h.hexdigest()[:16]


def environment_info() -> dict[str, Any]:
    """Versions and host of this process, for provenance records."""
    import importlib.metadata

    versions = {}
    for dist in ("safetyheads", "torch", "transformers"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    versions["python"] = sys.version.split()[0]
    return {"versions": versions, "host": socket.gethostname()}


def prompts_digest(texts: list[str]) -> str:
    """A short digest of a prompt list, recorded in run settings."""
    return hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]


def sweep_settings(model, texts, template, system, spec: AblationSpec, **extra) -> dict:
    """The settings of a head sweep (``ships``, ``sahara``, the screen) that a resume must match."""
    return {
        "model": model,
        "prompts": prompts_digest(texts),
        "n_prompts": len(texts),
        "template": str(template),
        "system": system,
        "ablation": spec.kind.value,
        "epsilon": spec.epsilon,
        **extra,
    }


def grid_ok(scores, shape: ModelShape, spec: AblationSpec, swept: set[Head]) -> bool:
    """A saved L x H score grid: the model's shape, a number for every swept head and None elsewhere."""
    per_layer = shape.heads_per_layer(spec)
    if not isinstance(scores, list) or len(scores) != shape.n_layers:
        return False
    for layer, row in enumerate(scores):
        if not isinstance(row, list) or len(row) != per_layer:
            return False
        for h, v in enumerate(row):
            number = isinstance(v, int | float) and not isinstance(v, bool)
            if number != (Head(layer, h) in swept):
                return False
    return True


LONGEST_SHOWN = 80  # a setting's value longer than this (as Python writes it) is named, not printed


def describe_change(key: str, old: Any, new: Any) -> str:
    """One setting's change, for an error message: ``key: old -> new``; for settings too long to print (a judge's
    fitted parameters), which of their own keys changed, or only that the value did."""
    if len(repr(old)) <= LONGEST_SHOWN and len(repr(new)) <= LONGEST_SHOWN:
        return f"{key}: {old!r} -> {new!r}"
    if isinstance(old, dict) and isinstance(new, dict):
        inner = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return f"{key}: " + ", ".join(describe_change(k, old.get(k), new.get(k)) for k in inner)
    return f"{key} changed"
