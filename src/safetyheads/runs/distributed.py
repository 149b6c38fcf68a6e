"""Where sweeps run: in this process (``local``) or spread over Ray workers (``ray``); the commands' options for it.

The pieces live in their own modules, and are importable from here too:

* ``runs.backend``: ``Backend``, the interface of both (``shape``, ``provenance``, ``encode``, ``ships``,
  ``sahara``, ``map_prompts``, ``map_prompt_batches``);
* ``runs.backends``: ``open_backend``, ``map_prompts``, ``map_prompt_batches``;
* ``runs.local``: ``LocalBackend``; ``runs.ray_pool``: ``RayPool``, ``RayOptions`` (how the Ray backend cuts work);
* ``runs.worker``: ``ModelWorker`` (one model copy), ``load_for_worker``;
* ``runs.planning``: ``plan_batches``, ``deal``, ``plan_units``, ``chosen_heads``;
* ``runs.provenance``: ``model_provenance``.

This module keeps the command-line options ``--backend``, ``--address``, ``--workers``, ``--gpus-per-worker`` and
``ray_options``, which checks them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from safetyheads.runs.backend import Backend
from safetyheads.runs.backends import BACKENDS, map_prompt_batches, map_prompts, open_backend
from safetyheads.runs.local import LocalBackend
from safetyheads.runs.planning import chosen_heads, deal, plan_batches, plan_units
from safetyheads.runs.provenance import model_provenance
from safetyheads.runs.ray_pool import DEFAULT_CPU_WORKERS, RayOptions, RayPool
from safetyheads.runs.worker import ModelWorker, load_for_worker
from safetyheads.types import SafetyHeadsError

__all__ = [
    "BACKENDS",
    "DEFAULT_CPU_WORKERS",
    "AddressOpt",
    "Backend",
    "BackendOpt",
    "GpusPerWorkerOpt",
    "LocalBackend",
    "ModelWorker",
    "RayOptions",
    "RayPool",
    "WorkersOpt",
    "chosen_heads",
    "deal",
    "load_for_worker",
    "map_prompt_batches",
    "map_prompts",
    "model_provenance",
    "open_backend",
    "plan_batches",
    "plan_units",
    "ray_options",
]

BackendOpt = Annotated[
    str, typer.Option("--backend", help="local (this process) or ray (spread over Ray workers, pip install ray).")
]
AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="Ray cluster to join (auto, or head-ip:6379); default: start a local one."),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", help="Ray workers, one model copy each (default: GPUs / --gpus-per-worker, or 2 on CPU)."
    ),
]
GpusPerWorkerOpt = Annotated[
    float | None,
    typer.Option(
        "--gpus-per-worker",
        help="GPUs per Ray worker (default 1 with --device cuda); above 1 the model is spread with device_map=auto.",
    ),
]


def ray_options(
    backend: str,
    address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float | None = None,
) -> RayOptions | None:
    """Check the backend options of a command; ``None`` for the local backend."""
    if backend not in BACKENDS:
        raise SafetyHeadsError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    if backend == "local":
        given = [
            name
            for name, value in (("--address", address), ("--workers", workers), ("--gpus-per-worker", gpus_per_worker))
            if value is not None
        ]
        if given:
            raise SafetyHeadsError(f"{', '.join(given)} only apply to --backend ray")
        return None
    if workers is not None and workers < 1:
        raise SafetyHeadsError("--workers must be at least 1")
    if gpus_per_worker is not None and gpus_per_worker < 0:
        raise SafetyHeadsError("--gpus-per-worker cannot be negative")
    return RayOptions(address=address, workers=workers, gpus_per_worker=gpus_per_worker)
