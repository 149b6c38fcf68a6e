"""``eval`` and ``helpfulness`` as resumable runs in a run directory: what the commands do, callable from a notebook.

* ``eval_run``: answers to harmful prompts with heads (and/or a refusal direction) ablated, each judged refused,
  complied or broken, into ``eval.jsonl``, and the shares with intervals into ``eval_summary.json``.
* ``helpfulness_run``: zero-shot multiple-choice accuracy, ablated and unablated, and the damage on harmless text,
  into ``helpfulness.json``.

Each checks the run's settings, records the model's provenance, holds the run's lock and resumes what is saved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetyheads.core.direction import RefusalDirection, intervention, maybe_without
from safetyheads.core.families import model_shape
from safetyheads.core.heads import format_heads
from safetyheads.core.progress import Progress
from safetyheads.data import datasets
from safetyheads.data.loading import load_shared
from safetyheads.data.prompts import prepare
from safetyheads.evaluation.asr import summarize
from safetyheads.evaluation.damage import harmless_damage, reference
from safetyheads.evaluation.generation import DecodingSettings, default_batch_size
from safetyheads.evaluation.helpfulness import MC_BATCH_SIZE, MC_TASKS, arrange, evaluate_mc
from safetyheads.evaluation.judges import check_judge, judge_record, make_judge
from safetyheads.evaluation.outcomes import judge_batch
from safetyheads.runs.planning import chosen_heads, spec_for_heads
from safetyheads.runs.provenance import model_provenance
from safetyheads.runs.rundir import RunDir, check_batch_size, prompts_digest, write_json
from safetyheads.types import OUTCOMES, AblationSpec, Head, PromptItem, SafetyHeadsError

OUTCOME_NAMES = {o.value for o in OUTCOMES}
Say = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


def _file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    if not path.exists():
        raise SafetyHeadsError(f"file not found: {path}")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def judge_settings(judge: str, options: dict) -> dict:
    """What a run records about its judge (``judges.judge_record``; a template file by its digest)."""
    out = judge_record(judge, options)
    if "judge_template" in out:
        out["judge_template"] = _file_digest(Path(out["judge_template"]))
    return out


@dataclass
class EvalRun:
    """A finished ``eval`` run."""

    summary: dict  # eval_summary.json: the shares with intervals, per category too
    records: list[dict]  # eval.jsonl
    heads: list[Head]
    what: str  # what was ablated, in words
    files: list[Path] = field(default_factory=list)


def eval_run(
    out: str | Path,
    *,
    model: str,
    items: Sequence[PromptItem],
    template="raw",
    system: str | None = None,
    heads: str | None = None,
    spec: AblationSpec | None = None,
    direction: RefusalDirection | None = None,
    judge: str = "topical",
    options: dict | None = None,
    decoding: DecodingSettings | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    say: Say = _quiet,
    status=None,
) -> EvalRun:
    """``safetyheads eval``: each prompt answered with ``heads`` (a head list text; None: none) and ``direction``
    ablated, and judged by ``judge`` (with its ``options``); resumed from ``out``."""
    spec = spec_for_heads(heads, spec)
    options = dict(options or {})
    decoding = decoding or DecodingSettings()
    check_judge(judge, options)  # before any model loads
    check_batch_size(batch_size)  # it records the size it uses, so the check cannot wait for the provenance
    if decoding.max_new_tokens < 1:
        raise SafetyHeadsError("--max-new-tokens must be at least 1")
    if decoding.top_k is not None and decoding.top_k < 1:
        raise SafetyHeadsError("--top-k must be at least 1")
    texts = [item.text for item in items]
    run = RunDir(out)
    run.check_settings(
        "eval",
        {
            "model": model,
            "prompts": prompts_digest(texts),
            "n_prompts": len(texts),
            "template": str(template),
            "system": system,
            "heads": heads,
            "ablation": spec.kind.value,
            "epsilon": spec.epsilon,
            **({"direction": direction.describe()} if direction else {}),
            **judge_settings(judge, options),
            **decoding.as_dict(),
        },
        results=["eval.jsonl"],
    )
    with run.lock("eval"):
        lm, tokenizer = load_shared(model, device, dtype, status)
        # The automatic size is recorded as the number it stands for: the size sets which prompts share a batch,
        # so a resume under another default would mix results.
        size = batch_size or default_batch_size(device)
        run.record_provenance("eval", model_provenance(model, lm, device, dtype), size)
        chosen = chosen_heads(heads, model_shape(lm), spec) or []
        judge_obj = make_judge(judge, model=lm, tokenizer=tokenizer, device=device, dtype=dtype, **options)
        encoded = prepare(tokenizer, texts, template, system)

        def valid(position: int, record: dict) -> bool:  # results are written in prompt order
            return (
                record["index"] == position < len(texts)
                and record["prompt"] == texts[position]
                and record.get("outcome") in OUTCOME_NAMES
            )

        saved, cut = run.repair_jsonl("eval.jsonl", valid)
        # Redo a partly written batch too: batches then hold the same prompts as in an uninterrupted run, and
        # the file ends byte for byte the same.
        aligned = len(saved) - len(saved) % size
        if len(saved) < len(texts) and aligned < len(saved):  # a finished run (last batch short) keeps everything
            saved, more = run.repair_jsonl("eval.jsonl", lambda pos, r: pos < aligned and valid(pos, r))
            cut += more
        if cut:
            say(f"cut {cut} bytes of torn or corrupt results off {run.file('eval.jsonl')}; redoing them")
        done = {r["index"] for r in saved}
        todo = [i for i in range(len(texts)) if i not in done]
        if done:
            say(f"resuming: {len(done)} of {len(texts)} prompts already in {run.file('eval.jsonl')}")
        with Progress(enabled=True) as progress, maybe_without(lm, direction):
            task = progress.task("evaluating", total=len(todo))
            for start in range(0, len(todo), size):
                idx = todo[start : start + size]
                batch = [items[i] for i in idx]
                ids = [encoded[i][1] for i in idx]
                for record in judge_batch(lm, tokenizer, batch, ids, idx, judge_obj, chosen, spec, decoding, size):
                    run.append_jsonl("eval.jsonl", record)
                progress.advance(task, len(idx))
        records = run.read_jsonl("eval.jsonl", valid)
    summary = summarize(records)
    summary.update(
        heads=[str(h) for h in chosen],
        ablation=spec.as_dict() if chosen else None,
        direction=direction.describe() if direction else None,
        judge=judge,
        model=model,
        template=str(template),
    )
    write_json(run.file("eval_summary.json"), summary)
    what = f"{format_heads(chosen)} ablated ({spec.kind.value}, eps={spec.epsilon:g})" if chosen else "no heads ablated"
    if direction is not None:
        what += f", refusal direction (layer {direction.layer}) ablated"
    return EvalRun(summary, records, chosen, what, [run.file("eval.jsonl"), run.file("eval_summary.json")])


def task_list(tasks: str | Sequence[str]) -> list[str]:
    """Multiple-choice task names, checked (a comma-separated text or a list)."""
    raw = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    names = [t.strip().lower() for t in raw if t.strip()]
    if not names:
        raise SafetyHeadsError(f"--tasks is empty; choose from: {', '.join(MC_TASKS)}")
    unknown = [t for t in names if t not in MC_TASKS]
    if unknown:
        raise SafetyHeadsError(f"unknown task '{unknown[0]}'; choose from: {', '.join(MC_TASKS)}")
    return list(dict.fromkeys(names))


_UNABLATED: dict[tuple, Any] = {}


def unablated(key: tuple, make: Callable[[], Any]) -> Any:
    """The unablated model's side of a helpfulness measurement (a task's accuracy, the damage reference), made once
    per process: every condition a study measures on one model shares it. ``key`` starts with the weights'
    fingerprint, device and dtype, so edited weights are measured afresh; only the latest model's are kept."""
    if any(k[:3] != key[:3] for k in _UNABLATED):
        _UNABLATED.clear()
    if key not in _UNABLATED:
        _UNABLATED[key] = make()
    return _UNABLATED[key]


@dataclass
class HelpfulnessRun:
    """A finished ``helpfulness`` run: ``result`` is helpfulness.json (per task; ``base`` and ``damage`` when
    measured)."""

    result: dict
    tasks: list[str]
    heads: list[Head]
    paired: bool  # the unablated model was scored too
    file: Path


def helpfulness_run(
    out: str | Path,
    *,
    model: str,
    tasks: str | Sequence[str],
    heads: str | None = None,
    spec: AblationSpec | None = None,
    direction: RefusalDirection | None = None,
    limit: int | None = None,
    with_base: bool = True,
    with_damage: bool = True,
    batch_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    status=None,
) -> HelpfulnessRun:
    """``safetyheads helpfulness``: zero-shot accuracy with ``heads`` and/or ``direction`` ablated, the unablated
    model's beside it (``with_base``) and the damage on harmless text (``with_damage``); resumed per task."""
    spec = spec_for_heads(heads, spec)
    names = task_list(tasks)
    if limit is not None and limit < 1:
        raise SafetyHeadsError("--limit must be at least 1")
    run = RunDir(out)
    run.check_settings(
        "helpfulness",
        # "base" only when off, so runs made before --no-base existed still resume; "direction" only when given
        {"model": model, "heads": heads, "ablation": spec.kind.value, "epsilon": spec.epsilon, "limit": limit}
        | ({} if with_base else {"base": False})
        | ({"direction": direction.describe()} if direction else {})
        | ({} if with_damage else {"damage": False}),
        results=["helpfulness.json"],
    )
    items = {name: datasets.load_mc_task(name, limit) for name in names}  # fails on missing data before loading
    with run.lock("helpfulness"):
        lm, tokenizer = load_shared(model, device, dtype, status)
        provenance = model_provenance(model, lm, device, dtype)
        run.record_provenance("helpfulness", provenance, batch_size)
        weights = (provenance["fingerprint"], device, dtype)
        chosen = chosen_heads(heads, model_shape(lm), spec) or []
        paired = (bool(chosen) or direction is not None) and with_base
        file = run.file("helpfulness.json")
        saved = json.loads(file.read_text()) if file.exists() else {}
        per_task: dict[str, dict] = {}
        for name, value in saved.items():  # resume: tasks already scored under the same settings
            if name in MC_TASKS and (not paired or name in saved.get("base", {})):
                per_task[name] = {"ablated": value, **({"base": saved["base"][name]} if paired else {})}
        size = batch_size or MC_BATCH_SIZE
        with Progress(enabled=True) as progress:
            todo = [n for n in names if n not in per_task]
            bar = progress.task("tasks", total=len(todo))
            for name in todo:
                with maybe_without(lm, direction):
                    entry = {"ablated": evaluate_mc(lm, tokenizer, items[name], chosen, spec, size).as_dict()}
                if paired:
                    entry["base"] = unablated(
                        (*weights, name, limit, size),
                        lambda n=name: evaluate_mc(lm, tokenizer, items[n], None, None, size).as_dict(),
                    )
                per_task[name] = entry
                write_json(file, arrange(per_task))
                progress.advance(bar)
        result = arrange({n: per_task[n] for n in names})
        if with_damage and (bool(chosen) or direction is not None):
            result["damage"] = saved.get("damage") or harmless_damage(
                lm,
                tokenizer,
                lambda: intervention(lm, chosen, spec, direction),
                unablated=unablated((*weights, "damage"), lambda: reference(lm, tokenizer)),
            )
        write_json(file, result)
    return HelpfulnessRun(result, names, chosen, paired, file)
