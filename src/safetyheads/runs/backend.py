"""The interface both backends offer (``Backend``), and the part of it they share: mapping prompts in order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Self

import torch

from safetyheads.core.progress import Progress
from safetyheads.runs.planning import emit_in_order
from safetyheads.runs.worker import PerItem
from safetyheads.types import ModelShape, SaharaResult, ShipsResult


class Backend(ABC):
    """Where sweeps run: ``shape``, ``provenance``, ``encode``, ``ships``, ``sahara``, ``map_prompts`` and
    ``map_prompt_batches``. Use one as a context manager, so its workers are freed.

    ``ships`` and ``sahara`` take the arguments of the library functions ``scores.ships.sweep_ships`` and
    ``scores.sahara.sahara`` after the model, and give their results.
    """

    name: str
    shape: ModelShape

    @abstractmethod
    def provenance(self) -> dict[str, Any]:
        """The model's provenance (``model_provenance``) and how this backend runs it."""

    @abstractmethod
    def encode(self, texts: list[str], template: str, system: str | None) -> list[tuple[str, torch.Tensor]]:
        """``(text, input_ids)`` for each prompt, with the model's tokenizer (``data.prompts.prepare``)."""

    @abstractmethod
    def ships(self, prompts: Sequence[tuple[str, torch.Tensor]], *args: Any, **kwargs: Any) -> list[ShipsResult]:
        """``sweep_ships`` on the backend's model."""

    @abstractmethod
    def sahara(self, prompts: Sequence[torch.Tensor], *args: Any, **kwargs: Any) -> SaharaResult:
        """``sahara`` on the backend's model."""

    @abstractmethod
    def run_batches(
        self, fn: Callable[..., list[Any]], batches: list[list[Any]], done: Callable[[int, list[Any]], None]
    ) -> None:
        """``done(j, fn(model, tokenizer, batches[j]))`` for each batch, in any order (see ``worker.apply_batch``)."""

    def label(self, what: str) -> str:
        """A progress bar's label for ``what`` running on this backend."""
        return what

    def map_prompt_batches(
        self,
        fn: Callable[..., list[Any]],
        items: Sequence[Any],
        batch_size: int = 8,
        on_result: Callable[[int, Any], None] | None = None,
        skip: Callable[[int], bool] | None = None,
        show_progress: bool = False,
    ) -> list[Any]:
        """Run ``fn(model, tokenizer, batch)`` where the model is, over ``items`` cut into batches.

        ``fn`` must return one result per item; ``on_result(i, result)`` is called in index order (so a
        results file appended from it stays resumable); items with ``skip(i)`` true are not run. Returns a
        list aligned with ``items`` (None where skipped).
        """
        todo, finish = emit_in_order(len(items), skip)
        size = max(1, int(batch_size))
        batches = [todo[s : s + size] for s in range(0, len(todo), size)]
        results: list[Any] = [None] * len(items)
        with Progress(enabled=show_progress) as progress:
            task = progress.task(self.label("prompts"), total=len(todo))

            def done(j: int, out: list[Any]) -> None:
                for i, value in zip(batches[j], out, strict=True):
                    results[i] = value
                    finish(i, value, on_result)
                progress.advance(task, len(out))

            self.run_batches(fn, [[items[i] for i in idx] for idx in batches], done)
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
        return self.map_prompt_batches(PerItem(fn), items, batch_size, on_result, skip, show_progress)

    def close(self) -> None:  # noqa: B027 (most backends hold nothing to free)
        """Free the backend's workers."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
