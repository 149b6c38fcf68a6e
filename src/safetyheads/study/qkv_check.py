"""``safetyheads qkv-check`` as one library call, ``qkv_check_run``: what the command runs, callable from a notebook.

One group of (query) heads under each ablation (``ua-q``, ``ua-k``, ``sc``, ``mean`` by default), unablated and,
with a refusal direction, with that direction ablated instead: the shares of answers refused, complied (attack
success) and broken, and multiple-choice helpfulness, one row each, in ``out/qkv_check.json`` (the answers in
``out/eval_<row>.jsonl``). A rerun in the same directory reuses the finished rows. Under grouped-query attention
``ua-k`` ablates the key heads serving the group, and so every query head sharing them; the rows and notes say which.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from safetyheads.core.direction import RefusalDirection, maybe_without
from safetyheads.core.families import model_shape
from safetyheads.core.files import write_jsonl
from safetyheads.core.heads import validate_heads
from safetyheads.data.datasets import load_mc_task
from safetyheads.data.loading import load_shared
from safetyheads.data.prompts import Template
from safetyheads.evaluation.generation import DecodingSettings
from safetyheads.evaluation.helpfulness import evaluate_mc
from safetyheads.evaluation.judges import build_judge, judge_record
from safetyheads.evaluation.outcomes import measure_outcomes
from safetyheads.runs.eval_runs import task_list
from safetyheads.runs.planning import named_heads
from safetyheads.runs.provenance import model_provenance
from safetyheads.runs.rundir import RunDir, prompts_digest, write_json
from safetyheads.types import (
    DEFAULT_EPSILON,
    AblationKind,
    AblationSpec,
    Head,
    ModelShape,
    PromptItem,
    SafetyHeadsError,
)

QKV_KINDS = ("ua-q", "ua-k", "sc", "mean")
DIRECTION_ROW = "direction"  # qkv-check --direction: the refusal direction ablated, beside the head ablations
DEFAULT_TASKS = ("arc_easy", "boolq", "openbookqa")
Say = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


def key_heads_for(heads: Sequence[Head], shape: ModelShape) -> list[Head]:
    """The key/value heads serving ``heads`` (query heads): ``ua-k`` on a query head ablates its key head."""
    return sorted({Head(h.layer, h.head // shape.group_size) for h in heads})


def units_for(kind: AblationKind, heads: Sequence[Head], shape: ModelShape) -> tuple[list[Head], list[Head], str]:
    """(units to ablate, query heads actually affected, note) for ``kind`` on the query heads ``heads``."""
    if kind is not AblationKind.UA_K:
        return list(heads), list(heads), ""
    keys = key_heads_for(heads, shape)
    affected = sorted(Head(k.layer, q) for k in keys for q in shape.query_heads_of_key_head(k.head))
    if not shape.uses_gqa:
        return keys, affected, ""
    extra = sorted(set(affected) - set(heads))
    note = (
        f"grouped-query attention ({shape.group_size} query heads per key head): ua-k ablates key heads "
        f"{','.join(map(str, keys))}, i.e. query heads {','.join(map(str, affected))}"
    )
    if extra:
        note += f" ({len(extra)} more than asked: {','.join(map(str, extra))})"
    return keys, affected, note


@dataclass
class QkvCheck:
    """A finished ``qkv-check`` run."""

    result: dict  # qkv_check.json: model, heads, notes and the rows in order
    rows: dict[str, dict]  # "none", each ablation kind, "direction" (with a direction): asr, helpfulness, units
    notes: list[str]  # what ua-k did under grouped-query attention (a note may repeat)
    tasks: list[str]
    heads: list[Head]
    file: Path


def qkv_check_run(
    out: str | Path,
    *,
    model: str,
    heads: str | Iterable[str | Head],
    items: Sequence[PromptItem],
    template: Template | str = Template.QUERY,
    system: str | None = None,
    max_new_tokens: int = 64,
    tasks: str | Sequence[str] = DEFAULT_TASKS,
    task_limit: int = 100,
    kinds: str | Sequence[str] = QKV_KINDS,
    epsilon: float = DEFAULT_EPSILON,
    judge: str = "topical",
    judge_options: dict | None = None,
    direction: RefusalDirection | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    say: Say = _quiet,
    status=None,
) -> QkvCheck:
    """``safetyheads qkv-check``: the outcomes of ``items`` (judged by ``judge`` with ``judge_options``) and the
    accuracy on ``tasks`` (``task_limit`` items each) with the query heads ``heads`` unablated and under each of
    ``kinds`` (and, with ``direction``, that refusal direction ablated instead); resumed from ``out``."""
    options = dict(judge_options or {})
    raw_kinds = kinds.split(",") if isinstance(kinds, str) else list(kinds)
    specs = [AblationSpec.parse(k, epsilon) for k in [k.strip() for k in raw_kinds if k.strip()]]
    if not specs:
        raise SafetyHeadsError(f"--kinds is empty; choose from {', '.join(QKV_KINDS)}")
    asked = named_heads(heads)
    if max_new_tokens < 1:
        raise SafetyHeadsError("--max-new-tokens must be at least 1")
    if task_limit < 1:
        raise SafetyHeadsError("--task-limit must be at least 1")
    names = task_list(tasks)
    mc = {name: load_mc_task(name, task_limit) for name in names}
    run = RunDir(out)
    run.check_settings(
        "qkv-check",
        {
            "model": model,
            "heads": [str(h) for h in asked],
            "prompts": prompts_digest([i.text for i in items]),
            "n_prompts": len(items),
            "template": str(template),
            "system": system,
            "max_new_tokens": max_new_tokens,
            "tasks": names,
            "task_limit": task_limit,
            "epsilon": epsilon,
            **judge_record(judge, options),
            **({"direction": direction.describe()} if direction else {}),
        },
    )
    judge_obj = build_judge(judge, options, answers_only=True, device=device, dtype=dtype)
    lm, tokenizer = load_shared(model, device, dtype, status)
    # rows already in qkv_check.json are reused: refuse other weights, device, dtype or batch size for the rest
    run.record_provenance("qkv-check", model_provenance(model, lm, device, dtype), batch_size)
    shape = model_shape(lm)
    validate_heads(asked, shape)
    file = run.file("qkv_check.json")
    saved = json.loads(file.read_text()) if file.exists() else {}
    rows: dict[str, dict] = {k: v for k, v in (saved.get("rows") or {}).items() if isinstance(v, dict)}
    size = batch_size or 8
    notes: list[str] = []
    plan: list[tuple[str, AblationSpec | None]] = [("none", None)] + [(s.kind.value, s) for s in specs]
    if direction is not None:
        plan.append((DIRECTION_ROW, None))
    for name, spec in plan:
        units: list[Head] = []
        affected: list[Head] = []
        if spec is not None:
            units, affected, note = units_for(spec.kind, asked, shape)
            if note:
                notes.append(note)
        if name in rows:
            continue
        control = direction if name == DIRECTION_ROW else None
        what = "unablated" if spec is None else "ablating " + ",".join(map(str, units))
        say(f"{name}: {'the refusal direction ablated' if control is not None else what}")
        with maybe_without(lm, control):
            summary, records = measure_outcomes(
                lm, tokenizer, items, template, system, judge_obj, units, spec, DecodingSettings(max_new_tokens), size
            )
            help_scores = {t: evaluate_mc(lm, tokenizer, mc[t], units or None, spec, size).as_dict() for t in names}
        write_jsonl(run.file(f"eval_{name}.jsonl"), records)
        accs = [v["accuracy"] for v in help_scores.values()]
        rows[name] = {
            "ablation": spec.as_dict() if spec is not None else None,
            **({"direction": control.describe()} if control is not None else {}),
            "units": [str(h) for h in units],
            "query_heads_affected": [str(h) for h in affected],
            "asr": summary,
            "helpfulness": help_scores,
            "mean_accuracy": sum(accs) / len(accs) if accs else None,
        }
        write_json(file, {"model": model, "heads": [str(h) for h in asked], "notes": notes, "rows": rows})
    ordered = {name: rows[name] for name, _ in plan}
    result = {"model": model, "heads": [str(h) for h in asked], "notes": notes, "rows": ordered}
    write_json(file, result)
    return QkvCheck(result, ordered, notes, names, asked, file)
