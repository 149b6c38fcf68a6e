"""Where sweeps run: in this process (``local``) or spread over Ray workers (``ray``).

Both backends have one interface (``Backend``): ``shape``, ``encode``, ``provenance``, ``ships``,
``sahara``, ``map_prompts`` and ``map_prompt_batches``. Open one with ``open_backend``.

The Ray backend starts one actor per worker; each loads the model once, by name, and keeps it. The
driver (the process running the command) never loads the model: it asks a worker for the model's
shape and for the tokenised prompts, cuts the work into units and hands them out as workers free up.

* Ships: a unit is one prompt and some of the engine's row batches for it. The batches are exactly the
  local engine's (``Engine.sweep``: sorted candidates, ``rows_per_batch`` rows each) and each worker
  runs them with the same ``Engine.capture`` / ``Engine.run_rows`` code, so every score is computed by
  the same operations on the same inputs as locally. A prompt's batches are split over several units
  only when there are fewer prompts than workers; results are written in prompt order, so a results
  file is always a prefix of the uninterrupted one and crash-safe resumes work as locally.
* Sahara: each step's candidate heads, cut into the engine's row batches, are dealt round-robin to
  one unit per worker; a unit runs its batches for every prompt under the group chosen so far and
  returns the generalized Ships of its heads. The base subspace is computed once and sent to all.
  With a beam (``beam`` > 1) each group of the beam is swept this way in turn.
* ``map_prompts`` / ``map_prompt_batches``: any per-prompt (or per-batch) callable, run on the workers'
  models, results in prompt order (for ``eval``-style commands).

A worker with several GPUs (``gpus_per_worker > 1``) loads the model with ``device_map="auto"`` over
the GPUs Ray gave it, which is how a 70B model is placed; ``RayOptions.load_kwargs`` passes anything
else to ``from_pretrained`` (``max_memory``, ``offload_folder``, a hand-made ``device_map``).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

import torch
import typer

from safetyheads.core.engine import Engine, auto_batch_size, kl_divergence
from safetyheads.core.families import model_shape
from safetyheads.core.heads import parse_heads, validate_heads
from safetyheads.core.progress import Progress
from safetyheads.scores.sahara import (
    Sweep,
    beam_result,
    check_search,
    final_hidden_states,
    principal_angle_sum,
    reporter,
    resume_history,
    run_beam,
    sahara,
    top_left_singular,
)
from safetyheads.scores.ships import scores_grid, sweep_ships
from safetyheads.types import (
    AblationSpec,
    BeamStep,
    Head,
    ModelShape,
    SafetyHeadsError,
    SaharaResult,
    SaharaStep,
    ShipsResult,
)

BACKENDS = ("local", "ray")
DEFAULT_CPU_WORKERS = 2
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

# ---------------------------------------------------------------------------------------------- CLI options

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


@dataclass(frozen=True)
class RayOptions:
    """How to run on Ray. ``None`` fields take the defaults described in ``RayPool``."""

    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float | None = None
    cpus_per_worker: float = 1.0
    load_kwargs: dict[str, Any] | None = field(default=None, hash=False)
    max_inflight: int = 2  # units queued per worker, so a worker never waits for the driver


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


# ---------------------------------------------------------------------------------------------- loading


def _source(name: str) -> str:
    """The directory (or hub id) ``from_pretrained`` should read for ``name``."""
    from safetyheads.data.loading import resolve_model_path

    try:
        return str(resolve_model_path(name))
    except SafetyHeadsError:
        if _HUB_ID.match(name) and not name.startswith((".", "/", "~")):
            return name
        raise


def load_for_worker(
    name: str,
    device: str = "cpu",
    dtype: str = "float32",
    gpus: float = 0,
    load_kwargs: dict[str, Any] | None = None,
):
    """(model, tokenizer) for one worker: ``load_model``, or ``from_pretrained`` with extra arguments.

    With ``--device cuda`` and more than one GPU per worker, the model is placed with
    ``device_map="auto"`` over the worker's GPUs (Ray sets ``CUDA_VISIBLE_DEVICES`` to exactly those).
    ``load_kwargs`` go to ``from_pretrained`` unchanged (``device_map``, ``max_memory``, ...).
    """
    from safetyheads.data.loading import load_model, resolve_dtype

    kwargs = dict(load_kwargs or {})
    if str(device).startswith("cuda") and gpus > 1 and "device_map" not in kwargs:
        kwargs["device_map"] = "auto"
    if not kwargs:
        return load_model(name, device=device, dtype=dtype)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _source(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=resolve_dtype(dtype), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SafetyHeadsError(f"cannot load {name}: {first}") from None
    if "device_map" not in kwargs:
        model = model.to(device)
    return model.eval(), tokenizer


def model_provenance(name: str, model: torch.nn.Module, device: str, dtype: str) -> dict[str, Any]:
    """Where a loaded model came from, what it is, and a fingerprint of its weights (see ``runs.RunDir``)."""
    from safetyheads.data import model_cache
    from safetyheads.runs.rundir import FINGERPRINT_KIND, environment_info, model_fingerprint, sample_fingerprint

    source: dict[str, Any]
    try:
        path = _source(name)
    except SafetyHeadsError:
        source = {"kind": "unknown"}
    else:
        if path == name and _HUB_ID.match(name) and not Path(name).exists():
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


# ---------------------------------------------------------------------------------------------- work plans


def plan_batches(candidates: Sequence[Head], rows: int) -> list[list[Head]]:
    """The row batches ``Engine.sweep`` makes: candidates sorted, ``rows`` per batch."""
    ordered = sorted(candidates)
    rows = max(1, int(rows))
    return [ordered[i : i + rows] for i in range(0, len(ordered), rows)]


def deal(batches: Sequence[list[Head]], units: int) -> list[list[list[Head]]]:
    """Deal batches round-robin into ``units`` non-empty units (low layers, which cost most, get spread)."""
    units = max(1, min(units, len(batches)))
    return [list(batches[u::units]) for u in range(units)]


def chosen_heads(spec_text: str | None, shape: ModelShape, spec: AblationSpec) -> list[Head] | None:
    """``--heads`` parsed and checked against ``shape``; None when not given (every head)."""
    if spec_text is None:
        return None
    return validate_heads(parse_heads(spec_text), shape, spec)


# ---------------------------------------------------------------------------------------------- the worker


class ModelWorker:
    """One model copy and its engines. Run as a Ray actor (``RayPool``); also usable in-process.

    The model is loaded on first use, so an actor Ray restarts after a crash reloads it by itself and
    a load error reaches the driver as the error of the call that needed the model.
    """

    def __init__(
        self,
        name: str,
        device: str = "cpu",
        dtype: str = "float32",
        gpus: float = 0,
        load_kwargs: dict[str, Any] | None = None,
        threads: int | None = None,
    ):
        self.name, self.device, self.dtype, self.gpus = name, device, dtype, gpus
        self.load_kwargs = load_kwargs
        self.threads = threads
        self._model: torch.nn.Module | None = None
        self._tokenizer: Any = None
        self._engines: dict[AblationSpec, Engine] = {}

    def _ensure(self) -> torch.nn.Module:
        if self._model is None:
            if self.threads:
                torch.set_num_threads(self.threads)
            self._model, self._tokenizer = load_for_worker(
                self.name, self.device, self.dtype, self.gpus, self.load_kwargs
            )
        return self._model

    def _engine(self, spec: AblationSpec) -> Engine:
        if spec not in self._engines:
            self._engines[spec] = Engine(self._ensure(), spec)
        return self._engines[spec]

    def info(self) -> dict[str, Any]:
        import os
        import socket

        model = self._ensure()
        return {
            "shape": model_shape(model),
            "provenance": model_provenance(self.name, model, self.device, self.dtype),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "torch_threads": torch.get_num_threads(),
        }

    def encode(self, texts: list[str], template: str, system: str | None) -> list[tuple[str, torch.Tensor]]:
        from safetyheads.data.prompts import prepare

        self._ensure()
        return prepare(self._tokenizer, texts, template, system)

    def rows_per_batch(self, lengths: list[int]) -> dict[int, int]:
        model = self._ensure()
        return {n: auto_batch_size(model, n) for n in lengths}

    def ships_unit(self, ids: torch.Tensor, batches: list[list[Head]], spec: AblationSpec) -> list[tuple[Head, float]]:
        """Ships of the heads in ``batches`` for one prompt, batch by batch as ``ships_for_prompt`` runs them."""
        engine = self._engine(spec)
        cap = engine.capture(ids)
        out: list[tuple[Head, float]] = []
        for chunk in batches:
            rows = engine.run_rows(cap, [(h,) for h in chunk])
            kl = kl_divergence(cap.logprobs.unsqueeze(0), rows.logprobs)
            out.extend(zip(chunk, (float(v) for v in kl.tolist()), strict=True))
        return out

    def base_hidden(self, prompts: list[torch.Tensor], spec: AblationSpec) -> torch.Tensor:
        base, _ = final_hidden_states(self._engine(spec), prompts, [])
        return base

    def sahara_unit(
        self,
        prompts: list[torch.Tensor],
        group: tuple[Head, ...],
        batches: list[list[Head]],
        base_subspace: torch.Tensor,
        rank: int,
        spec: AblationSpec,
    ) -> list[tuple[Head, float]]:
        """Generalized Ships of the heads in ``batches`` on top of ``group`` (as ``generalized_ships``)."""
        engine = self._engine(spec)
        n, d = len(prompts), engine.shape.hidden_size
        per_head = {h: torch.empty(n, d) for chunk in batches for h in chunk}
        for i, ids in enumerate(prompts):
            cap = engine.capture(ids, group)
            for chunk in batches:
                rows = engine.run_rows(cap, [(h,) for h in chunk])
                for h, row in zip(chunk, rows.hidden, strict=True):
                    per_head[h][i] = row
        return [(h, principal_angle_sum(base_subspace, top_left_singular(m, rank))) for h, m in per_head.items()]

    def apply(self, fn: Callable[..., list[Any]], items: list[Any]) -> list[Any]:
        """``fn(model, tokenizer, items)``: one batch of a ``map_prompt_batches`` call."""
        model = self._ensure()
        out = list(fn(model, self._tokenizer, items))
        if len(out) != len(items):
            raise ValueError(f"the mapped function returned {len(out)} results for {len(items)} prompts")
        return out


class _PerItem:
    """Turns a per-prompt callable into a per-batch one (picklable, unlike a closure in some setups)."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn

    def __call__(self, model, tokenizer, items: list[Any]) -> list[Any]:
        return [self.fn(model, tokenizer, item) for item in items]


# ---------------------------------------------------------------------------------------------- backends


class Backend(Protocol):
    name: str
    shape: ModelShape

    def provenance(self) -> dict[str, Any]: ...

    def encode(self, texts: list[str], template: str, system: str | None) -> list[tuple[str, torch.Tensor]]: ...

    def ships(
        self,
        prompts: Sequence[tuple[str, torch.Tensor]],
        heads: Sequence[Head] | None = None,
        spec: AblationSpec | None = None,
        batch_size: int | None = None,
        on_result: Callable[[int, ShipsResult], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[ShipsResult]: ...

    def sahara(
        self,
        prompts: Sequence[torch.Tensor],
        steps: int = 3,
        rank: int = 1,
        spec: AblationSpec | None = None,
        candidates: Sequence[Head] | None = None,
        batch_size: int | None = None,
        done_steps: Sequence[SaharaStep] = (),
        on_step: Callable[[SaharaStep], None] | None = None,
        show_progress: bool = False,
        beam: int = 1,
        done_beam: Sequence[BeamStep] = (),
        on_result: Callable[[SaharaResult], None] | None = None,
    ) -> SaharaResult: ...

    def map_prompt_batches(
        self,
        fn: Callable[..., list[Any]],
        items: Sequence[Any],
        batch_size: int = 8,
        on_result: Callable[[int, Any], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[Any]: ...

    def close(self) -> None: ...


def _emit_in_order(
    n: int, skip: Callable[[int], bool] | None
) -> tuple[list[int], Callable[[int, Any, Callable[[int, Any], None] | None], None]]:
    """Indices to do, and a function that releases finished results strictly in index order."""
    todo = [i for i in range(n) if not (skip and skip(i))]
    ready: dict[int, Any] = {}
    position = [0]

    def finish(i: int, value: Any, on_result: Callable[[int, Any], None] | None) -> None:
        ready[i] = value
        while position[0] < len(todo) and todo[position[0]] in ready:
            j = todo[position[0]]
            if on_result is not None:
                on_result(j, ready[j])
            position[0] += 1

    return todo, finish


class LocalBackend:
    """Everything in this process, on one model copy (the plain library functions)."""

    name = "local"

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        dtype: str = "float32",
        load_kwargs: dict[str, Any] | None = None,
        status: Callable[[str], contextlib.AbstractContextManager] | None = None,
    ):
        self.model_name, self.device, self.dtype = model, device, dtype
        with status(f"loading {model} ...") if status else contextlib.nullcontext():
            self.model, self.tokenizer = load_for_worker(model, device, dtype, 0, load_kwargs)
        self.shape = model_shape(self.model)

    def provenance(self) -> dict[str, Any]:
        return {**model_provenance(self.model_name, self.model, self.device, self.dtype), "backend": "local"}

    def encode(self, texts: list[str], template: str, system: str | None) -> list[tuple[str, torch.Tensor]]:
        from safetyheads.data.prompts import prepare

        return prepare(self.tokenizer, texts, template, system)

    def ships(
        self,
        prompts: Sequence[tuple[str, torch.Tensor]],
        heads: Sequence[Head] | None = None,
        spec: AblationSpec | None = None,
        batch_size: int | None = None,
        on_result: Callable[[int, ShipsResult], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[ShipsResult]:
        return sweep_ships(self.model, prompts, heads, spec, batch_size, on_result, skip, show_progress)

    def sahara(
        self,
        prompts: Sequence[torch.Tensor],
        steps: int = 3,
        rank: int = 1,
        spec: AblationSpec | None = None,
        candidates: Sequence[Head] | None = None,
        batch_size: int | None = None,
        done_steps: Sequence[SaharaStep] = (),
        on_step: Callable[[SaharaStep], None] | None = None,
        show_progress: bool = False,
        beam: int = 1,
        done_beam: Sequence[BeamStep] = (),
        on_result: Callable[[SaharaResult], None] | None = None,
    ) -> SaharaResult:
        return sahara(
            self.model,
            prompts,
            steps,
            rank,
            spec,
            candidates,
            batch_size,
            done_steps=done_steps,
            on_step=on_step,
            show_progress=show_progress,
            beam=beam,
            done_beam=done_beam,
            on_result=on_result,
        )

    def map_prompt_batches(
        self,
        fn: Callable[..., list[Any]],
        items: Sequence[Any],
        batch_size: int = 8,
        on_result: Callable[[int, Any], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[Any]:
        todo, finish = _emit_in_order(len(items), skip)
        results: list[Any] = [None] * len(items)
        with Progress(enabled=show_progress) as progress:
            task = progress.task("prompts", total=len(todo))
            for start in range(0, len(todo), max(1, batch_size)):
                idx = todo[start : start + max(1, batch_size)]
                out = list(fn(self.model, self.tokenizer, [items[i] for i in idx]))
                if len(out) != len(idx):
                    raise ValueError(f"the mapped function returned {len(out)} results for {len(idx)} prompts")
                for i, value in zip(idx, out, strict=True):
                    results[i] = value
                    finish(i, value, on_result)
                progress.advance(task, len(idx))
        return results

    def map_prompts(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        batch_size: int = 1,
        on_result: Callable[[int, Any], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[Any]:
        return self.map_prompt_batches(_PerItem(fn), items, batch_size, on_result, skip, show_progress)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _import_ray():
    try:
        import ray
    except ImportError:
        raise SafetyHeadsError(
            "--backend ray needs Ray, which is not installed; install it with: pip install 'safetyheads[ray]'"
        ) from None
    return ray


def _worker_error(err: Exception) -> Exception:
    """A user-facing error for a failure inside a Ray worker."""
    ray = _import_ray()
    cause = getattr(err, "cause", None)
    if isinstance(cause, SafetyHeadsError):
        return SafetyHeadsError(str(cause))
    if isinstance(cause, ValueError | FileNotFoundError):
        return type(cause)(str(cause))
    if isinstance(err, ray.exceptions.RayActorError | ray.exceptions.ObjectLostError):
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return SafetyHeadsError(
            f"a Ray worker died ({first}); the results written so far are kept: rerun the same command to resume"
        )
    return err


class RayPool:
    """Model copies on Ray workers, and the scheduling of sweep units over them.

    Defaults: ``gpus_per_worker`` is 1 with a CUDA ``device``, else 0; ``workers`` is the cluster's GPUs
    divided by ``gpus_per_worker``, or 2 on CPU. Without ``address`` (and no ``RAY_ADDRESS``) a local
    Ray instance is started and shut down again on ``close``; one already running in this process
    (``ray.init`` called before) is used as it is.
    """

    name = "ray"

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        dtype: str = "float32",
        options: RayOptions | None = None,
        status: Callable[[str], contextlib.AbstractContextManager] | None = None,
    ):
        self.model_name, self.device, self.dtype = model, device, dtype
        self.options = options or RayOptions()
        self._ray = _import_ray()
        self._owns_ray = False
        self.actors: list[Any] = []
        try:
            self._start(status)
        except BaseException:
            self.close()
            raise

    # -- lifecycle

    def _start(self, status) -> None:
        ray = self._ray
        opts = self.options
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": True}
            if opts.address:
                kwargs["address"] = opts.address
            with status("starting Ray ...") if status else contextlib.nullcontext():
                try:
                    ray.init(**kwargs)
                except (ConnectionError, RuntimeError, ValueError) as err:
                    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                    where = opts.address or "a local instance"
                    raise SafetyHeadsError(f"cannot start or join Ray at {where}: {first}") from None
            self._owns_ray = True
        resources = ray.cluster_resources()
        cuda = str(self.device).startswith("cuda")
        gpw = opts.gpus_per_worker if opts.gpus_per_worker is not None else (1.0 if cuda else 0.0)
        if gpw > 0 and not cuda:
            raise SafetyHeadsError("--gpus-per-worker needs --device cuda")
        if cuda and gpw <= 0:
            raise SafetyHeadsError("--device cuda on Ray needs --gpus-per-worker of at least 1 (or a fraction)")
        total_gpus = float(resources.get("GPU", 0))
        total_cpus = float(resources.get("CPU", 0))
        if opts.workers is not None:
            workers = opts.workers
        elif gpw > 0:
            workers = int(total_gpus // gpw)
        else:
            workers = max(1, min(DEFAULT_CPU_WORKERS, int(total_cpus // max(opts.cpus_per_worker, 1e-9))))
        if workers < 1 or workers * gpw > total_gpus + 1e-9:
            raise SafetyHeadsError(
                f"the Ray cluster has {total_gpus:g} GPUs: not enough for {max(workers, 1)} workers with "
                f"{gpw:g} GPUs each; lower --workers or --gpus-per-worker"
            )
        if workers * opts.cpus_per_worker > total_cpus + 1e-9:
            raise SafetyHeadsError(
                f"the Ray cluster has {total_cpus:g} CPUs: not enough for {workers} workers with "
                f"{opts.cpus_per_worker:g} CPUs each; lower --workers"
            )
        self.gpus_per_worker = gpw
        actor_cls = ray.remote(ModelWorker)
        threads = max(1, int(opts.cpus_per_worker)) if not cuda else None
        self.actors = [
            actor_cls.options(num_cpus=opts.cpus_per_worker, num_gpus=gpw, max_restarts=2, max_task_retries=2).remote(
                self.model_name, self.device, self.dtype, gpw, opts.load_kwargs, threads
            )
            for _ in range(workers)
        ]
        with status(f"loading {self.model_name} on {workers} Ray workers ...") if status else contextlib.nullcontext():
            self.infos = self._get([a.info.remote() for a in self.actors])
        fingerprints = {info["provenance"]["fingerprint"] for info in self.infos}
        if len(fingerprints) > 1:
            hosts = sorted({info["host"] for info in self.infos})
            raise SafetyHeadsError(
                f"the Ray workers loaded different models for '{self.model_name}' (hosts: {', '.join(hosts)}); "
                "make the same model available on every node"
            )
        self.shape: ModelShape = self.infos[0]["shape"]

    def close(self) -> None:
        ray = self._ray
        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors = []
        if self._owns_ray:
            with contextlib.suppress(Exception):
                ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing

    @property
    def workers(self) -> int:
        return len(self.actors)

    def _get(self, refs):
        try:
            return self._ray.get(refs)
        except self._ray.exceptions.RayError as err:
            raise _worker_error(err) from None

    def dispatch(
        self, jobs: Sequence[tuple[str, tuple]], on_done: Callable[[int, Any], None], max_inflight: int | None = None
    ) -> None:
        """Run ``jobs`` (method name, args) on the actors, each actor kept ``max_inflight`` jobs deep.

        ``on_done(job_index, result)`` is called in the driver as results arrive (in any order).
        """
        ray = self._ray
        depth = max(1, max_inflight or self.options.max_inflight)
        queue = deque(enumerate(jobs))
        inflight: dict[Any, tuple[int, int]] = {}
        load = [0] * len(self.actors)

        def submit(a: int) -> None:
            j, (method, args) = queue.popleft()
            ref = getattr(self.actors[a], method).remote(*args)
            inflight[ref] = (j, a)
            load[a] += 1

        for _ in range(depth):
            for a in range(len(self.actors)):
                if queue:
                    submit(a)
        try:
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    j, a = inflight.pop(ref)
                    load[a] -= 1
                    on_done(j, ray.get(ref))
                    while queue and load[a] < depth:
                        submit(a)
        except ray.exceptions.RayError as err:
            for ref in inflight:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
            raise _worker_error(err) from None

    def rows_per_batch(self, lengths: Sequence[int], batch_size: int | None = None) -> dict[int, int]:
        """Rows per forward for each prompt length: ``batch_size``, else the smallest automatic size of any worker."""
        lengths = sorted(set(int(n) for n in lengths))
        if batch_size:
            return {n: int(batch_size) for n in lengths}
        per_worker = self._get([a.rows_per_batch.remote(lengths) for a in self.actors])
        return {n: min(w[n] for w in per_worker) for n in lengths}

    # -- the Backend interface

    def provenance(self) -> dict[str, Any]:
        info = dict(self.infos[0]["provenance"])
        info.update(
            backend="ray",
            workers=self.workers,
            gpus_per_worker=self.gpus_per_worker,
            worker_hosts=sorted({i["host"] for i in self.infos}),
            ray_address=self.options.address,
            ray_version=getattr(self._ray, "__version__", None),
        )
        return info

    def encode(self, texts: list[str], template: str, system: str | None) -> list[tuple[str, torch.Tensor]]:
        return self._get(self.actors[0].encode.remote(list(texts), str(template), system))

    def ships(
        self,
        prompts: Sequence[tuple[str, torch.Tensor]],
        heads: Sequence[Head] | None = None,
        spec: AblationSpec | None = None,
        batch_size: int | None = None,
        on_result: Callable[[int, ShipsResult], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[ShipsResult]:
        """``sweep_ships`` over the workers: same arguments, same results, ``on_result`` in prompt order."""
        spec = spec or AblationSpec()
        shape = self.shape
        candidates = validate_heads(heads if heads is not None else shape.all_heads(spec), shape, spec)
        todo, finish = _emit_in_order(len(prompts), skip)
        rows = self.rows_per_batch([prompts[i][1].shape[-1] for i in todo], batch_size)
        split = max(1, math.ceil(2 * self.workers / max(len(todo), 1)))  # only when prompts < 2 x workers
        jobs: list[tuple[str, tuple]] = []
        owner: list[int] = []
        remaining: dict[int, int] = {}
        for i in todo:
            units = deal(plan_batches(candidates, rows[prompts[i][1].shape[-1]]), split)
            remaining[i] = len(units)
            for unit in units:
                jobs.append(("ships_unit", (prompts[i][1], unit, spec)))
                owner.append(i)
        values: dict[int, dict[Head, float]] = {i: {} for i in todo}
        results: list[ShipsResult] = []

        def release(i: int, result: ShipsResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(i, result)

        with Progress(enabled=show_progress) as progress:
            task = progress.task(f"Ships on {self.workers} Ray workers", total=len(todo) * len(candidates))

            def done(j: int, pairs: list[tuple[Head, float]]) -> None:
                i = owner[j]
                values[i].update(pairs)
                remaining[i] -= 1
                progress.advance(task, len(pairs))
                if remaining[i] == 0:
                    grid = scores_grid(shape, spec, values.pop(i))
                    finish(i, ShipsResult(prompt=prompts[i][0], scores=grid), release)

            self.dispatch(jobs, done)
        return results

    def sahara(
        self,
        prompts: Sequence[torch.Tensor],
        steps: int = 3,
        rank: int = 1,
        spec: AblationSpec | None = None,
        candidates: Sequence[Head] | None = None,
        batch_size: int | None = None,
        done_steps: Sequence[SaharaStep] = (),
        on_step: Callable[[SaharaStep], None] | None = None,
        show_progress: bool = False,
        beam: int = 1,
        done_beam: Sequence[BeamStep] = (),
        on_result: Callable[[SaharaResult], None] | None = None,
    ) -> SaharaResult:
        """``sahara`` over the workers: each group's candidates are shared out; same arguments and results.

        Bit-identical to the local search when both use the same row batches: always with ``batch_size``,
        and in automatic mode when every prompt gets the same automatic size (short prompts on CPU).
        """
        ray = self._ray
        spec = spec or AblationSpec()
        shape = self.shape
        pool = validate_heads(candidates if candidates is not None else shape.all_heads(spec), shape, spec)
        check_search(steps, len(pool), rank, len(prompts), beam=beam)
        history = resume_history(done_steps, done_beam, beam, steps)
        if len(history) >= steps:
            return beam_result(history, beam)
        prompts = list(prompts)
        prompts_ref = ray.put(prompts)
        rows = min(self.rows_per_batch([p.shape[-1] for p in prompts], batch_size).values())
        base = self._get(self.actors[0].base_hidden.remote(prompts_ref, spec))
        base_ref = ray.put(top_left_singular(base, rank))

        def score(group: tuple[Head, ...], remaining: list[Head], advance: Callable[[int], None]) -> Sweep:
            scores: dict[Head, float] = {}

            def done(_j: int, pairs: list[tuple[Head, float]]) -> None:
                scores.update(pairs)
                advance(len(pairs) * len(prompts))

            units = deal(plan_batches(remaining, rows), self.workers)
            jobs = [("sahara_unit", (prompts_ref, group, unit, base_ref, rank, spec)) for unit in units]
            self.dispatch(jobs, done, max_inflight=1)
            return Sweep(scores, remaining)

        report = reporter(beam, on_step, on_result)
        run_beam(pool, steps, beam, shape, spec, score, history, len(prompts), report, show_progress)
        return beam_result(history, beam)

    def map_prompt_batches(
        self,
        fn: Callable[..., list[Any]],
        items: Sequence[Any],
        batch_size: int = 8,
        on_result: Callable[[int, Any], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[Any]:
        """Run ``fn(model, tokenizer, batch)`` on the workers over ``items`` cut into batches.

        ``fn`` must return one result per item; ``on_result(i, result)`` is called in index order (so a
        results file appended from it stays resumable); items with ``skip(i)`` true are not run. Returns a
        list aligned with ``items`` (None where skipped).
        """
        todo, finish = _emit_in_order(len(items), skip)
        size = max(1, int(batch_size))
        batches = [todo[s : s + size] for s in range(0, len(todo), size)]
        fn_ref = self._ray.put(fn)
        results: list[Any] = [None] * len(items)
        with Progress(enabled=show_progress) as progress:
            task = progress.task(f"prompts on {self.workers} Ray workers", total=len(todo))

            def done(j: int, out: list[Any]) -> None:
                for i, value in zip(batches[j], out, strict=True):
                    results[i] = value
                    finish(i, value, on_result)
                progress.advance(task, len(out))

            self.dispatch([("apply", (fn_ref, [items[i] for i in idx])) for idx in batches], done)
        return results

    def map_prompts(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        batch_size: int = 1,
        on_result: Callable[[int, Any], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[Any]:
        """``map_prompt_batches`` for a per-prompt callable ``fn(model, tokenizer, item)``."""
        return self.map_prompt_batches(_PerItem(fn), items, batch_size, on_result, skip, show_progress)


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
    backend: LocalBackend | RayPool,
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
    backend: LocalBackend | RayPool,
    batch_size: int = 8,
    on_result: Callable[[int, Any], None] | None = None,
    skip: Callable[[int], bool] | None = None,
    show_progress: bool = False,
) -> list[Any]:
    """Shard prompts over a backend's workers: ``fn(model, tokenizer, batch) -> results`` per batch, in order."""
    return backend.map_prompt_batches(fn, items, batch_size, on_result, skip, show_progress)
