"""One model copy and what a backend asks of it: the work of a Ray actor (``RayPool``), or of this process.

Every sweep a worker runs is a library function on its engine: ``ships_for_prompt`` for Ships and
``generalized_ships`` for Sahara, with the driver's rows per batch, so its scores are the local backend's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from safetyheads.core.engine import Engine, auto_batch_size
from safetyheads.core.families import model_shape
from safetyheads.runs.provenance import model_provenance, model_source
from safetyheads.scores.sahara import final_hidden_states, generalized_ships
from safetyheads.scores.ships import ships_for_prompt
from safetyheads.types import AblationSpec, Head, SafetyHeadsError


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
    from safetyheads.data.loading import load_model, model_class, resolve_dtype

    kwargs = dict(load_kwargs or {})
    if str(device).startswith("cuda") and gpus > 1 and "device_map" not in kwargs:
        kwargs["device_map"] = "auto"
    if not kwargs:
        return load_model(name, device=device, dtype=dtype)
    from transformers import AutoTokenizer

    source = model_source(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = model_class(source).from_pretrained(source, dtype=resolve_dtype(dtype), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SafetyHeadsError(f"cannot load {name}: {first}") from None
    if "device_map" not in kwargs:
        model = model.to(device)
    return model.eval(), tokenizer


def apply_batch(fn: Callable[..., Sequence[Any]], model: torch.nn.Module, tokenizer: Any, items: list[Any]) -> list:
    """``fn(model, tokenizer, items)``, checked to give one result per item: one batch of ``map_prompt_batches``."""
    out = list(fn(model, tokenizer, items))
    if len(out) != len(items):
        raise ValueError(f"the mapped function returned {len(out)} results for {len(items)} prompts")
    return out


class PerItem:
    """Turns a per-prompt callable into a per-batch one (picklable, unlike a closure in some setups)."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn

    def __call__(self, model, tokenizer, items: list[Any]) -> list[Any]:
        return [self.fn(model, tokenizer, item) for item in items]


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
        self._engines: dict[tuple[AblationSpec, int | None], Engine] = {}

    def _ensure(self) -> torch.nn.Module:
        if self._model is None:
            if self.threads:
                torch.set_num_threads(self.threads)
            self._model, self._tokenizer = load_for_worker(
                self.name, self.device, self.dtype, self.gpus, self.load_kwargs
            )
        return self._model

    def _engine(self, spec: AblationSpec, rows: int | None = None) -> Engine:
        """The engine for ``spec`` with ``rows`` rows per batch (None: automatic)."""
        if (spec, rows) not in self._engines:
            self._engines[spec, rows] = Engine(self._ensure(), spec, rows)
        return self._engines[spec, rows]

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

    def ships_unit(self, ids: torch.Tensor, heads: list[Head], spec: AblationSpec, rows: int) -> dict[Head, float]:
        """``ships_for_prompt`` of ``heads`` for one prompt, ``rows`` rows per batch (a unit of ``plan_units``)."""
        return ships_for_prompt(self._engine(spec, rows), ids, heads)

    def base_hidden(self, prompts: list[torch.Tensor], spec: AblationSpec) -> torch.Tensor:
        """The unablated final hidden states of ``prompts`` (N x d), whose subspace Sahara measures angles from."""
        base, _ = final_hidden_states(self._engine(spec), prompts, [])
        return base

    def sahara_unit(
        self,
        prompts: list[torch.Tensor],
        group: tuple[Head, ...],
        heads: list[Head],
        base_subspace: torch.Tensor,
        rank: int,
        spec: AblationSpec,
        rows: int,
    ) -> dict[Head, float]:
        """``generalized_ships`` of ``heads`` on top of ``group``, ``rows`` rows per batch."""
        return generalized_ships(self._engine(spec, rows), prompts, heads, group, rank, base_subspace)

    def apply(self, fn: Callable[..., list[Any]], items: list[Any]) -> list[Any]:
        """``fn(model, tokenizer, items)``: one batch of a ``map_prompt_batches`` call."""
        return apply_batch(fn, self._ensure(), self._tokenizer, items)
