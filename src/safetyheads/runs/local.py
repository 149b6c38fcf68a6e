"""The local backend: everything in this process, on one model copy, by the plain library functions."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import torch

from safetyheads.core.families import model_shape
from safetyheads.runs.backend import Backend
from safetyheads.runs.provenance import model_provenance
from safetyheads.runs.worker import apply_batch, load_for_worker
from safetyheads.scores.sahara import sahara
from safetyheads.scores.ships import sweep_ships
from safetyheads.types import SaharaResult, ShipsResult


class LocalBackend(Backend):
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

    def ships(self, prompts: Sequence[tuple[str, torch.Tensor]], *args: Any, **kwargs: Any) -> list[ShipsResult]:
        """``sweep_ships(model, prompts, ...)`` on this process's model."""
        return sweep_ships(self.model, prompts, *args, **kwargs)

    def sahara(self, prompts: Sequence[torch.Tensor], *args: Any, **kwargs: Any) -> SaharaResult:
        """``sahara(model, prompts, ...)`` on this process's model."""
        return sahara(self.model, prompts, *args, **kwargs)

    def run_batches(
        self, fn: Callable[..., list[Any]], batches: list[list[Any]], done: Callable[[int, list[Any]], None]
    ) -> None:
        for j, batch in enumerate(batches):
            done(j, apply_batch(fn, self.model, self.tokenizer, batch))
