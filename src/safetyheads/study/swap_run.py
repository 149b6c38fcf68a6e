"""``safetyheads swap`` as one library call, ``swap_run``: what the command runs, callable from a notebook.

ALIGNED with every layer's attention (or MLP) copied from BASE, saved as a model directory (``out/model``), and the
shares of answers refused, complied (attack success) and broken of ALIGNED, the swapped model and, with
``eval_base``, BASE (``out/eval_<model>.jsonl``), all recorded in ``out/swap.json``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from safetyheads.core.files import write_jsonl
from safetyheads.core.swap import COMPONENTS, check_swappable, save_swapped, swap_component
from safetyheads.data.loading import load_shared
from safetyheads.data.prompts import Template
from safetyheads.evaluation.generation import DecodingSettings
from safetyheads.evaluation.judges import build_judge
from safetyheads.evaluation.outcomes import measure_outcomes
from safetyheads.runs.rundir import prompts_digest, write_json
from safetyheads.types import PromptItem, SafetyHeadsError

Say = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


@dataclass
class SwapRun:
    """A finished ``swap`` run."""

    summaries: dict[str, dict]  # "base" (with eval_base), "aligned", "swapped": the shares with intervals
    record: dict  # from, into, component, parameters (also saved with the model)
    swapped_parameters: list[str]
    result: dict  # swap.json
    model_dir: Path
    file: Path  # swap.json
    eval_files: dict[str, Path] = field(default_factory=dict)  # eval_<model>.jsonl by model


def swap_run(
    out: str | Path,
    *,
    source: str,
    into: str,
    component: str = "attention",
    items: Sequence[PromptItem] = (),
    dataset: str | None = None,
    template: Template | str = Template.QUERY,
    system: str | None = None,
    max_new_tokens: int = 64,
    judge: str = "topical",
    judge_options: dict | None = None,
    eval_base: bool = False,
    evaluate: bool = True,
    overwrite: bool = False,
    batch_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    say: Say = _quiet,
    status=None,
) -> SwapRun:
    """``safetyheads swap``: save INTO (the aligned model) with every layer's ``component`` (attention or mlp)
    from SOURCE (the base model) into ``out/model``, and, with ``evaluate``, measure the outcomes of ``items``
    (``dataset``: their dataset's name, recorded) under INTO and the swapped model (and SOURCE with ``eval_base``),
    judged by ``judge`` with ``judge_options``. ``out`` must be empty unless ``overwrite``.

    INTO is loaded with ``load_shared``: inside ``loading.shared_models`` the shared copy is the one swapped."""
    out = Path(out)
    options = dict(judge_options or {})
    component = component.strip().lower()
    if component not in COMPONENTS:
        raise SafetyHeadsError(f"unknown component '{component}'; choose one of: {', '.join(COMPONENTS)}")
    if max_new_tokens < 1:
        raise SafetyHeadsError("--max-new-tokens must be at least 1")
    items = list(items) if evaluate else []
    if out.exists() and not out.is_dir():
        raise SafetyHeadsError(f"--out {out} is a file; give a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SafetyHeadsError(f"--out {out} is not empty; choose a new directory or pass --overwrite")
    judge_obj = build_judge(judge, options, answers_only=True, device=device, dtype=dtype) if evaluate else None
    judged_by = {"judge": judge, **options} if evaluate else {}
    aligned, tokenizer = load_shared(into, device, dtype, status)
    base, base_tokenizer = load_shared(source, device, dtype, status)
    check_swappable(base, aligned, component)
    summaries: dict[str, dict] = {}
    eval_files: dict[str, Path] = {}
    decoding = DecodingSettings(max_new_tokens)

    def measure(key: str, model, tok) -> None:
        say(f"{key.upper()}:")
        summaries[key], records = measure_outcomes(
            model, tok, items, template, system, judge_obj, decoding=decoding, batch_size=batch_size
        )
        out.mkdir(parents=True, exist_ok=True)
        eval_files[key] = out / f"eval_{key}.jsonl"
        write_jsonl(eval_files[key], records)

    if evaluate and eval_base:
        measure("base", base, base_tokenizer)
    if evaluate:
        measure("aligned", aligned, tokenizer)
    names = swap_component(base, aligned, component)
    del base
    record = {"from": source, "into": into, "component": component, "parameters": len(names)}
    model_dir = out / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    save_swapped(aligned, tokenizer, model_dir, record)
    if evaluate:
        measure("swapped", aligned, tokenizer)

    result = {
        **record,
        "model_dir": str(model_dir),
        "swapped_parameters": names,
        "settings": {
            "prompts": prompts_digest([i.text for i in items]),
            "n_prompts": len(items),
            "dataset": dataset,
            "template": str(template),
            "system": system,
            "max_new_tokens": max_new_tokens,
            **judged_by,
        },
        "asr": summaries,
    }
    write_json(out / "swap.json", result)
    return SwapRun(summaries, record, names, result, model_dir, out / "swap.json", eval_files)
