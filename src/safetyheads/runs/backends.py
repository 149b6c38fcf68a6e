"""Opening a backend by name (``local`` or ``ray``), and sharding any per-prompt work over one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from safetyheads.runs.backend import Backend
from safetyheads.runs.local import LocalBackend
from safetyheads.runs.ray_pool import RayOptions, RayPool
from safetyheads.types import SafetyHeadsError

BACKENDS = ("local", "ray")


def open_backend(
    kind: str,
    model: str,
    device: str = "cpu",
    dtype: str = "float32",
    options: RayOptions | None = None,
    status: Callable[[str], contextlib.AbstractContextManager] | None = None,
) -> LocalBackend | RayPool:
    """A backend for ``kind`` (``local`` or ``ray``); use it as a context manager so Ray workers are freed."""
    if kind == "local":
        return LocalBackend(model, device, dtype, status=status)
    if kind == "ray":
        return RayPool(model, device, dtype, options, status=status)
    raise SafetyHeadsError(f"unknown backend '{kind}'; choose one of: {', '.join(BACKENDS)}")


def map_prompts(
    fn: Callable[..., Any],
    items: Sequence[Any],
    backend: Backend,
    batch_size: int = 1,
    on_result: Callable[[int, Any], None] | None = None,
    skip: Callable[[int], bool] | None = None,
    show_progress: bool = False,
) -> list[Any]:
    """Shard prompts over a backend's workers: ``fn(model, tokenizer, item)`` per prompt, in order.

    For eval-style commands::

        with open_backend("ray", "my-model", "cuda", options=RayOptions(workers=4)) as backend:
            records = map_prompts(answer_and_judge, prompts, backend, batch_size=8, on_result=save)

    ``fn`` runs where the model is (a Ray worker, or this process for the local backend); ``batch_size``
    prompts travel together. See ``map_prompt_batches`` for a callable that takes whole batches.
    """
    return backend.map_prompts(fn, items, batch_size, on_result, skip, show_progress)


def map_prompt_batches(
    fn: Callable[..., list[Any]],
    items: Sequence[Any],
    backend: Backend,
    batch_size: int = 8,
    on_result: Callable[[int, Any], None] | None = None,
    skip: Callable[[int], bool] | None = None,
    show_progress: bool = False,
) -> list[Any]:
    """Shard prompts over a backend's workers: ``fn(model, tokenizer, batch) -> results`` per batch, in order."""
    return backend.map_prompt_batches(fn, items, batch_size, on_result, skip, show_progress)


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
