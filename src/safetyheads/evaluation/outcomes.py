"""Answers to prompts and their judged outcomes: the one pipeline behind ``eval``, ``swap`` and ``qkv-check``.

``judge_batch`` answers a batch of prompts with ``heads`` ablated (greedy or seeded top-k decoding) and judges
each answer ``refused``, ``complied`` or ``broken``; a judge that reads the model instead of answers
(``refusal-score``) judges the prompts under the ablation. ``measure_outcomes`` runs it over a prompt set in
batches and summarises the shares (``asr.summarize``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from safetyheads.core.ablation import ablated
from safetyheads.core.progress import Progress
from safetyheads.data.prompts import prepare
from safetyheads.evaluation.asr import summarize
from safetyheads.evaluation.generation import DecodingSettings, default_batch_size, generate
from safetyheads.evaluation.judges import Case, Judge
from safetyheads.types import AblationSpec, Head, PromptItem


def judge_batch(
    model: nn.Module,
    tokenizer,
    items: Sequence[PromptItem],
    ids: Sequence[torch.Tensor],
    indices: Sequence[int],
    judge: Judge,
    heads: Sequence[Head] = (),
    spec: AblationSpec | None = None,
    decoding: DecodingSettings | None = None,
    batch_size: int | None = None,
) -> list[dict]:
    """One record per prompt: ``index``, ``prompt``, ``category`` (when known), ``response`` and the verdict."""
    decoding = decoding or DecodingSettings()
    texts = [item.text for item in items]
    if judge.needs_generation:
        answers: list[str | None] = [
            g.text for g in generate(model, tokenizer, list(ids), heads, spec, decoding, batch_size=batch_size)
        ]
        verdicts = judge.judge([Case(t, a, x) for t, a, x in zip(texts, answers, ids, strict=True)])
    else:
        answers = [None] * len(texts)
        with ablated(model, heads, spec):
            verdicts = judge.judge([Case(t, None, x) for t, x in zip(texts, ids, strict=True)])
    records = []
    for i, item, answer, verdict in zip(indices, items, answers, verdicts, strict=True):
        record: dict = {"index": i, "prompt": item.text}
        if item.category is not None:
            record["category"] = item.category
        record["response"] = answer
        record.update(verdict.as_dict())
        records.append(record)
    return records


def measure_outcomes(
    model: nn.Module,
    tokenizer,
    items: Sequence[PromptItem],
    template,
    system: str | None,
    judge: Judge,
    heads: Sequence[Head] = (),
    spec: AblationSpec | None = None,
    decoding: DecodingSettings | None = None,
    batch_size: int | None = None,
    show_progress: bool = True,
) -> tuple[dict, list[dict]]:
    """The outcomes of ``items`` as ``safetyheads eval`` computes them, in memory: (summary, per-prompt records)."""
    size = batch_size or default_batch_size(next(model.parameters()).device)
    ids = [x for _t, x in prepare(tokenizer, [item.text for item in items], template, system)]
    records: list[dict] = []
    with Progress(enabled=show_progress) as progress:
        task = progress.task("answers", total=len(items))
        for start in range(0, len(items), size):
            idx = list(range(start, min(start + size, len(items))))
            batch = [items[i] for i in idx]
            records += judge_batch(
                model, tokenizer, batch, [ids[i] for i in idx], idx, judge, heads, spec, decoding, size
            )
            progress.advance(task, len(idx))
    return summarize(records), records
