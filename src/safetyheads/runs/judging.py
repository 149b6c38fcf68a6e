"""Judging answers that were already generated: any JSONL with ``prompt`` and ``response`` per line.

``judge_file`` is what ``safetyheads judge`` runs: it re-judges an ``eval.jsonl`` (or any such file) with any
judge, without regenerating, and writes ``judged.jsonl`` (the input lines in their order, each with
``outcome``, ``score`` and ``reason`` set by the new judge) and ``judge_summary.json`` (the three shares with
their intervals, overall and per category).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from safetyheads.core.files import write_jsonl
from safetyheads.core.progress import Progress
from safetyheads.evaluation.asr import summarize
from safetyheads.evaluation.judges import Case, Judge, Verdict, build_judge
from safetyheads.runs.rundir import write_json
from safetyheads.types import SafetyHeadsError

JUDGE_BATCH = 32


def read_responses(path: str | Path) -> list[dict]:
    """The lines of a responses file; each must be a JSON object with a text ``prompt`` and ``response``."""
    path = Path(path)
    if not path.is_file():
        raise SafetyHeadsError(f"responses file not found: {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise SafetyHeadsError(f"{path}:{number} is not a JSON object") from None
        if not isinstance(row, dict):
            raise SafetyHeadsError(f"{path}:{number} is not a JSON object")
        for key in ("prompt", "response"):
            if not isinstance(row.get(key), str):
                raise SafetyHeadsError(f"{path}:{number} has no text '{key}' field")
        rows.append(row)
    if not rows:
        raise SafetyHeadsError(f"{path} holds no responses; give one JSON object per line with prompt and response")
    return rows


def judge_rows(
    judge: Judge, rows: Sequence[dict], batch_size: int = JUDGE_BATCH, advance: Callable[[int], None] | None = None
) -> list[Verdict]:
    """The judge's verdict on each row's (prompt, response), in order."""
    verdicts: list[Verdict] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        verdicts += judge.judge([Case(r["prompt"], r["response"]) for r in chunk])
        if advance is not None:
            advance(len(chunk))
    return verdicts


def with_verdict(row: dict, verdict: Verdict) -> dict:
    """The row with the verdict's ``outcome``, ``score`` and ``reason`` (an old verdict's fields replaced)."""
    out = {k: v for k, v in row.items() if k not in ("outcome", "score", "reason", "harmful", "degenerate", "nll")}
    out.update(verdict.as_dict())
    return out


def judge_file(
    rows: Sequence[dict],
    source: str,
    out: str | Path,
    judge: Judge,
    advance: Callable[[int], None] | None = None,
) -> dict:
    """Judge every row (as :func:`read_responses` gives them, from the file ``source``); write
    ``out/judged.jsonl`` and ``out/judge_summary.json``."""
    verdicts = judge_rows(judge, rows, advance=advance)
    judged = [with_verdict(r, v) for r, v in zip(rows, verdicts, strict=True)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "judged.jsonl", judged)
    summary = summarize(judged)
    summary.update(judge=judge.settings(), responses=source)
    write_json(out / "judge_summary.json", summary)
    return summary


def judge_run(
    responses: str | Path,
    out: str | Path,
    judge: str,
    options: dict | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    show_progress: bool = True,
) -> dict:
    """``safetyheads judge``: the answers in ``responses`` (JSONL with prompt and response) judged by ``judge`` with
    its ``options``, into ``out``/judged.jsonl and judge_summary.json; returns the summary. Bad input fails before
    any judge model loads."""
    rows = read_responses(responses)
    judge_obj = build_judge(judge, dict(options or {}), answers_only=True, device=device, dtype=dtype)
    with Progress(enabled=show_progress) as progress:
        task = progress.task("judging", total=len(rows))
        return judge_file(rows, str(responses), Path(out), judge_obj, advance=lambda k: progress.advance(task, k))
