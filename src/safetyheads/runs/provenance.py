"""Where a model comes from (a directory, the model cache or the hub) and what a run records about it."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from safetyheads.core.families import model_shape
from safetyheads.types import SafetyHeadsError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def model_source(name: str) -> str:
    """The directory (or hub id) ``from_pretrained`` should read for ``name``."""
    from safetyheads.data.loading import resolve_model_path

    try:
        return str(resolve_model_path(name))
    except SafetyHeadsError:
        if HUB_ID.match(name) and not name.startswith((".", "/", "~")):
            return name
        raise


def model_provenance(name: str, model: torch.nn.Module, device: str, dtype: str) -> dict[str, Any]:
    """Where a loaded model came from, what it is, and a fingerprint of its weights (see ``runs.RunDir``)."""
    from safetyheads.data import model_cache
    from safetyheads.runs.rundir import FINGERPRINT_KIND, environment_info, model_fingerprint, sample_fingerprint

    source: dict[str, Any]
    try:
        path = model_source(name)
    except SafetyHeadsError:
        source = {"kind": "unknown"}
    else:
        if path == name and HUB_ID.match(name) and not Path(name).exists():
            source = {"kind": "hub", "id": name, "revision": getattr(model.config, "_commit_hash", None)}
        else:
            source = {"kind": "directory", "path": path}
            marker = model_cache.read_marker(Path(path))
            if marker is not None:
                source.update(kind="cache", meta=marker.get("meta") or {})
    info: dict[str, Any] = {
        "model": name,
        "source": source,
        "architecture": type(model).__name__,
        "shape": asdict(model_shape(model)),
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "requested_dtype": str(dtype),
        "device": str(device),
        "fingerprint": model_fingerprint(model),
        "fingerprint_kind": FINGERPRINT_KIND,
        "sample_fingerprint": sample_fingerprint(model),
        **environment_info(),
    }
    device_map = getattr(model, "hf_device_map", None)
    if device_map:
        counts: dict[str, int] = {}
        for where in device_map.values():
            counts[str(where)] = counts.get(str(where), 0) + 1
        info["device_map"] = counts
    return info
