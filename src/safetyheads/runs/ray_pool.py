"""The Ray backend: model copies on Ray workers, and sweeps cut into units and spread over them.

``RayPool`` starts one actor (``worker.ModelWorker``) per worker; each loads the model once, by name, and
keeps it. The driver (the process running the command) never loads the model: it asks a worker for the
model's shape and for the tokenised prompts, cuts the work into units and hands them out as workers free up.

* Ships: a unit is one prompt and some of the engine's row batches for it (``planning.plan_units``). The
  batches are exactly the local engine's (``Engine.sweep``: sorted candidates, ``rows_per_batch`` rows each)
  and each worker runs them with ``ships_for_prompt``, the local backend's own function, so every score is
  computed by the same operations on the same inputs as locally. A prompt's batches are split over several
  units only when there are fewer prompts than workers; results are written in prompt order, so a results
  file is always a prefix of the uninterrupted one and crash-safe resumes work as locally.
* Sahara: each step's candidate heads, cut into the engine's row batches, are dealt round-robin to one unit
  per worker; a unit is ``generalized_ships`` of its heads over every prompt under the group chosen so far.
  The base subspace is computed once and sent to all. The search around it is the local one (``run_beam``),
  so with a beam (``beam`` > 1) each group of the beam is swept this way in turn.
* ``map_prompts`` / ``map_prompt_batches``: any per-prompt (or per-batch) callable, run on the workers'
  models, results in prompt order (for ``eval``-style commands).

A worker with several GPUs (``gpus_per_worker > 1``) loads the model with ``device_map="auto"`` over the GPUs
Ray gave it, which is how a 70B model is placed; ``RayOptions.load_kwargs`` passes anything else to
``from_pretrained`` (``max_memory``, ``offload_folder``, a hand-made ``device_map``).
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from safetyheads.core.heads import validate_heads
from safetyheads.core.progress import Progress
from safetyheads.runs.backend import Backend
from safetyheads.runs.planning import emit_in_order, plan_units
from safetyheads.runs.worker import ModelWorker
from safetyheads.scores.sahara import Scorer, Sweep, search, top_left_singular
from safetyheads.scores.ships import scores_grid
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

DEFAULT_CPU_WORKERS = 2


@dataclass(frozen=True)
class RayOptions:
    """How to run on Ray. ``None`` fields take the defaults described in ``RayPool``."""

    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float | None = None
    cpus_per_worker: float = 1.0
    load_kwargs: dict[str, Any] | None = field(default=None, hash=False)
    max_inflight: int = 2  # units queued per worker, so a worker never waits for the driver


def import_ray():
    try:
        import ray
    except ImportError:
        raise SafetyHeadsError(
            "--backend ray needs Ray, which is not installed; install it with: pip install 'safetyheads[ray]'"
        ) from None
    return ray


def worker_error(err: Exception) -> Exception:
    """A user-facing error for a failure inside a Ray worker."""
    ray = import_ray()
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


class RayPool(Backend):
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
        self._ray = import_ray()
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

    # -- plumbing

    @property
    def workers(self) -> int:
        return len(self.actors)

    def label(self, what: str) -> str:
        return f"{what} on {self.workers} Ray workers"

    def _get(self, refs):
        try:
            return self._ray.get(refs)
        except self._ray.exceptions.RayError as err:
            raise worker_error(err) from None

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
            raise worker_error(err) from None

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
        todo, finish = emit_in_order(len(prompts), skip)
        rows = self.rows_per_batch([prompts[i][1].shape[-1] for i in todo], batch_size)
        split = max(1, math.ceil(2 * self.workers / max(len(todo), 1)))  # only when prompts < 2 x workers
        jobs: list[tuple[str, tuple]] = []
        owner: list[int] = []
        remaining: dict[int, int] = {}
        for i in todo:
            ids = prompts[i][1]
            units = plan_units(candidates, rows[ids.shape[-1]], split)
            remaining[i] = len(units)
            jobs.extend(("ships_unit", (ids, unit, spec, rows[ids.shape[-1]])) for unit in units)
            owner.extend([i] * len(units))
        values: dict[int, dict[Head, float]] = {i: {} for i in todo}
        results: list[ShipsResult] = []

        def release(i: int, result: ShipsResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(i, result)

        with Progress(enabled=show_progress) as progress:
            task = progress.task(self.label("Ships"), total=len(todo) * len(candidates))

            def done(j: int, scores: dict[Head, float]) -> None:
                i = owner[j]
                values[i].update(scores)
                remaining[i] -= 1
                progress.advance(task, len(scores))
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
        spec = spec or AblationSpec()
        prompts = list(prompts)
        return search(
            self.shape,
            spec,
            len(prompts),
            lambda: self._sahara_scorer(prompts, rank, spec, batch_size),
            steps,
            rank,
            candidates,
            done_steps=done_steps,
            on_step=on_step,
            show_progress=show_progress,
            beam=beam,
            done_beam=done_beam,
            on_result=on_result,
        )

    def _sahara_scorer(
        self, prompts: list[torch.Tensor], rank: int, spec: AblationSpec, batch_size: int | None
    ) -> Scorer:
        """The ``Scorer`` of a search: a group's remaining heads dealt out to the workers in the engine's batches."""
        ray = self._ray
        prompts_ref = ray.put(prompts)
        rows = min(self.rows_per_batch([p.shape[-1] for p in prompts], batch_size).values())
        base = self._get(self.actors[0].base_hidden.remote(prompts_ref, spec))
        base_ref = ray.put(top_left_singular(base, rank))

        def score(group: tuple[Head, ...], remaining: list[Head], advance: Callable[[int], None]) -> Sweep:
            scores: dict[Head, float] = {}

            def done(_j: int, unit_scores: dict[Head, float]) -> None:
                scores.update(unit_scores)
                advance(len(unit_scores) * len(prompts))

            units = plan_units(remaining, rows, self.workers)
            jobs = [("sahara_unit", (prompts_ref, group, unit, base_ref, rank, spec, rows)) for unit in units]
            self.dispatch(jobs, done, max_inflight=1)
            return Sweep(scores, remaining)

        return score

    def run_batches(
        self, fn: Callable[..., list[Any]], batches: list[list[Any]], done: Callable[[int, list[Any]], None]
    ) -> None:
        fn_ref = self._ray.put(fn)
        self.dispatch([("apply", (fn_ref, batch)) for batch in batches], done)
