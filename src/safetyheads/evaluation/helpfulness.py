"""Helpfulness: zero-shot multiple-choice accuracy by log-likelihood, scored like lm-eval-harness.

Each choice is a continuation of the item's context. Its score is the summed
log-likelihood of its tokens given the context (``acc``: the argmax is the
prediction); ``acc_norm`` divides by the choice's length in characters first,
without the space that separates it from the context (lm-eval's target
delimiter). Tokenisation follows lm-eval-harness: trailing spaces of the context
move to the continuation, the pair is encoded whole, and no BOS token is added
(except for Gemma models, which lm-eval also gives one); an empty context becomes
the BOS (or EOS) token. Tasks come from ``safetyheads.data.datasets.load_mc_task``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from torch import nn

from safetyheads.core.ablation import ablated
from safetyheads.core.families import family_of
from safetyheads.evaluation.asr import bootstrap_ci
from safetyheads.evaluation.coherence import encode_pair
from safetyheads.evaluation.continuations import continuation_logprobs
from safetyheads.types import AblationSpec, Head, MCItem, SafetyHeadsError

MC_TASKS = ("boolq", "arc_challenge", "arc_easy", "openbookqa", "winogrande", "rte", "mmlu")
DEFAULT_TASKS = ("boolq", "arc_challenge", "arc_easy", "openbookqa", "winogrande", "rte")
MC_BATCH_SIZE = 32  # questions per forward, within continuations.TOKENS_PER_FORWARD


@dataclass
class TaskScore:
    accuracy: float  # lm-eval's acc
    accuracy_norm: float  # lm-eval's acc_norm (log-likelihood per character)
    n: int
    predictions: list[int]
    loglikelihoods: list[list[float]]
    chance: float = float("nan")  # expected accuracy of a uniform guess: mean of 1 / choices
    majority: float = float("nan")  # accuracy of always answering the most common gold position ("yes")
    accuracy_ci: tuple[float, float] = (float("nan"), float("nan"))  # bootstrap over items, 95%

    def as_dict(self) -> dict:
        out = {
            "accuracy": self.accuracy,
            "accuracy_norm": self.accuracy_norm,
            "n": self.n,
            "accuracy_ci": list(self.accuracy_ci),
            "chance": self.chance,
            "majority": self.majority,
        }
        return {**out, "above_baselines": above_baselines(out)}


def above_baselines(score: dict) -> bool:
    """True when a task score's 95% interval (``accuracy_ci``) lies wholly above both its ``chance`` and its
    ``majority`` baseline: only such a task can show that an intervention hurt the model."""
    try:
        return bool(score["accuracy_ci"][0] > max(score["chance"], score["majority"]))
    except (KeyError, TypeError, IndexError):
        return False


def default_add_bos(model: nn.Module) -> bool:
    """lm-eval-harness adds no BOS token, except for Gemma models."""
    return family_of(model).startswith("gemma")


def _start_token(tokenizer) -> int:
    """What an empty context becomes: BOS, else EOS (as lm-eval-harness does), else the padding token."""
    for attr in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    raise SafetyHeadsError("this tokenizer has no BOS, EOS or padding token to start an empty context")


def item_pairs(tokenizer, item: MCItem, add_bos: bool) -> list[tuple[list[int], list[int]]]:
    """(context ids, continuation ids) for each choice of ``item``."""
    pairs = []
    for i, choice in enumerate(item.choices):
        context = item.context_of(i)
        if context:
            ctx, cont = encode_pair(tokenizer, context, choice)
            if add_bos and tokenizer.bos_token_id is not None:
                ctx = [int(tokenizer.bos_token_id)] + ctx
        else:
            ctx, cont = [_start_token(tokenizer)], tokenizer(choice, add_special_tokens=False).input_ids
        if not cont:
            raise SafetyHeadsError(f"choice {choice!r} encodes to no tokens")
        pairs.append((ctx, list(cont)))
    return pairs


def choice_loglikelihoods(
    model: nn.Module,
    tokenizer,
    items: Sequence[MCItem],
    batch_size: int = MC_BATCH_SIZE,
    add_bos: bool | None = None,
    max_length: int | None = None,
) -> list[list[float]]:
    """Summed log-likelihood of every choice of every item, under the model as it is."""
    add_bos = default_add_bos(model) if add_bos is None else add_bos
    if max_length is None:
        max_length = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    flat: list[tuple[list[int], list[int]]] = []
    for item in items:
        if not item.choices:
            raise SafetyHeadsError("a multiple-choice item has no choices")
        if not 0 <= item.gold < len(item.choices):
            raise SafetyHeadsError(f"gold index {item.gold} is out of range for {len(item.choices)} choices")
        if item.contexts and len(item.contexts) != len(item.choices):
            raise SafetyHeadsError(f"{len(item.contexts)} contexts for {len(item.choices)} choices")
        flat.extend(item_pairs(tokenizer, item, add_bos))
    logprobs = continuation_logprobs(model, flat, batch_size, max_length)
    sums = [float(lp.sum()) for lp in logprobs]
    out, k = [], 0
    for item in items:
        out.append(sums[k : k + len(item.choices)])
        k += len(item.choices)
    return out


def score_task(items: Sequence[MCItem], loglikelihoods: Sequence[Sequence[float]]) -> TaskScore:
    """acc and acc_norm from per-choice log-likelihoods (ties go to the first choice, as with numpy's argmax)."""
    preds, correct, correct_norm = [], 0, 0
    for item, lls in zip(items, loglikelihoods, strict=True):
        pred = int(np.argmax(lls))
        lengths = [max(len(c.removeprefix(" ")), 1) for c in item.choices]  # lm-eval: the choice without " "
        pred_norm = int(np.argmax([ll / n for ll, n in zip(lls, lengths, strict=True)]))
        preds.append(pred)
        correct += pred == item.gold
        correct_norm += pred_norm == item.gold
    n = len(items)
    golds = [item.gold for item in items]
    hits = [p == g for p, g in zip(preds, golds, strict=True)]
    return TaskScore(
        accuracy=correct / n if n else float("nan"),
        accuracy_norm=correct_norm / n if n else float("nan"),
        n=n,
        predictions=preds,
        loglikelihoods=[list(x) for x in loglikelihoods],
        chance=float(np.mean([1.0 / len(item.choices) for item in items])) if n else float("nan"),
        majority=max(golds.count(g) for g in set(golds)) / n if n else float("nan"),
        accuracy_ci=bootstrap_ci(hits) if n else (float("nan"), float("nan")),
    )


def evaluate_mc(
    model: nn.Module,
    tokenizer,
    items: Sequence[MCItem],
    heads: Iterable[Head] | None = None,
    spec: AblationSpec | None = None,
    batch_size: int = MC_BATCH_SIZE,
    add_bos: bool | None = None,
) -> TaskScore:
    """Accuracy on ``items``, with ``heads`` ablated (``None`` or empty: the model as it is)."""
    heads = list(heads or [])
    context = ablated(model, heads, spec or AblationSpec()) if heads else nullcontext()
    with context:
        lls = choice_loglikelihoods(model, tokenizer, items, batch_size, add_bos)
    return score_task(items, lls)


def helpfulness(
    model: nn.Module,
    tokenizer,
    tasks: Sequence[str],
    limit: int | None = None,
    heads: Iterable[Head] | None = None,
    spec: AblationSpec | None = None,
    batch_size: int = MC_BATCH_SIZE,
    with_base: bool = True,
    loader: Callable[[str, int | None], list[MCItem]] | None = None,
    on_task: Callable[[str, dict], None] | None = None,
) -> dict:
    """``{task: {accuracy, accuracy_norm, n}}`` under the ablation, plus ``base`` (the same for the unablated
    model) when heads are given and ``with_base``. ``on_task(task, entry)`` is called as each task finishes."""
    if loader is None:
        from safetyheads.data.datasets import load_mc_task as loader
    heads = list(heads or [])
    result: dict = {}
    for task in tasks:
        items = loader(task, limit)
        entry: dict = {}
        entry["ablated"] = evaluate_mc(model, tokenizer, items, heads, spec, batch_size).as_dict()
        if heads and with_base:
            entry["base"] = evaluate_mc(model, tokenizer, items, None, None, batch_size).as_dict()
        if on_task is not None:
            on_task(task, entry)
        result[task] = entry
    return arrange(result)


def arrange(per_task: dict[str, dict]) -> dict:
    """From ``{task: {"ablated": ..., "base": ...}}`` to ``{task: ablated..., "base": {task: base...}}``."""
    out: dict = {task: entry["ablated"] for task, entry in per_task.items()}
    base = {task: entry["base"] for task, entry in per_task.items() if "base" in entry}
    if base:
        out["base"] = base
    return out
