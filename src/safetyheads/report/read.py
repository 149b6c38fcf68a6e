"""Finding and reading the parts of a run directory into data classes (``collect``); nothing here writes.

Convention: a run directory holds the outputs of several commands, in itself and in its immediate
subdirectories (``RUN/ships.jsonl``, ``RUN/sahara/sahara.json``, ``RUN/eval_base/``, ``RUN/eval_ablated/``
...). The report looks for these known files in RUN and each immediate subdirectory:

==================  ====================================================================
``ships.jsonl``      per-prompt Ships (mean per head by ``ships.mean_scores``; a partial sweep is fine)
``ships_mean.csv``   mean Ships per head, used when ``ships.jsonl`` is absent
``sahara.json``      Sahara steps (complete or not)
``eval_summary.json`` ASR with its interval, as ``eval`` wrote it; labelled by its ``heads`` (none: the base model)
``eval.jsonl``       per-prompt answers (examples; summarised by ``asr.summarize`` when the summary is missing)
``helpfulness.json`` accuracy per task, with ``base`` accuracies when present
``run.json``         settings per command and the model's provenance (``runs.RunDir``)
==================  ====================================================================

Ships runs are read with ``scores.compare``'s readers (as ``safetyheads compare`` reads them), and the shares of an
eval come from its ``eval_summary.json``, or from ``evaluation.asr`` for a run that has none yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetyheads.evaluation.asr import counted_records, summarize
from safetyheads.runs.rundir import SETTINGS_FILE, read_jsonl_readonly
from safetyheads.scores.compare import Grid, csv_columns, csv_grid, mean_over_prompts, ships_jsonl_grids
from safetyheads.types import SafetyHeadsError

FIGURES_DIR = "figures"


@dataclass
class ShipsPart:
    label: str
    folder: Path
    mean: Grid
    std: Grid | None
    n_prompts: int | None  # prompts in the file; None when only the mean CSV was found
    expected: int | None  # prompts the run was started with (run.json)
    settings: dict[str, Any]
    source: str


@dataclass
class SaharaPart:
    label: str
    folder: Path
    group: list[list[int]]
    steps: list[dict[str, Any]]
    complete: bool
    expected_steps: int | None
    settings: dict[str, Any]


@dataclass
class EvalPart:
    label: str
    folder: Path
    heads: list[str]
    summary: dict[str, Any]
    records: list[dict[str, Any]]
    partial: bool  # no eval_summary.json: summarised here from eval.jsonl
    expected: int | None
    settings: dict[str, Any]

    @property
    def direction(self) -> dict[str, Any] | None:
        d = self.summary.get("direction") or self.settings.get("direction")
        return d if isinstance(d, dict) else None

    @property
    def is_base(self) -> bool:
        return not self.heads and self.direction is None

    def what(self) -> str:
        """What was ablated, in words."""
        if self.is_base:
            return "base (no heads ablated)"
        parts = [", ".join(self.heads)] if self.heads else []
        if self.direction is not None:
            parts.append(f"refusal direction (layer {self.direction.get('layer')})")
        return "ablated: " + " and ".join(parts)


@dataclass
class HelpfulnessPart:
    label: str
    folder: Path
    tasks: dict[str, dict[str, Any]]
    base: dict[str, dict[str, Any]]
    heads: list[str]


@dataclass
class RunContents:
    root: Path
    ships: list[ShipsPart] = field(default_factory=list)
    sahara: list[SaharaPart] = field(default_factory=list)
    evals: list[EvalPart] = field(default_factory=list)
    helpfulness: list[HelpfulnessPart] = field(default_factory=list)
    settings: dict[Path, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # unreadable files, named in the report

    def folders(self) -> list[Path]:
        return sorted({p.folder for p in [*self.ships, *self.sahara, *self.evals, *self.helpfulness]})


def folders(root: Path) -> list[Path]:
    """``root`` and its immediate subdirectories, but hidden ones and the figures folder."""
    subs = [
        d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith((".", "_")) and d.name != FIGURES_DIR
    ]
    return [root, *subs]


def label(root: Path, folder: Path) -> str:
    """A folder's name in the report: the run's name for the run directory itself."""
    return root.name if folder == root else folder.name


def _read_json(path: Path, problems: list[str]) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        problems.append(f"{path}: unreadable ({err})")
        return None


def heads_list(value: Any) -> list[str]:
    """Heads as text, from ["2-26", ...], [[2, 26], ...] or "2-26,3-8"; [] for none."""
    if not value:
        return []
    if isinstance(value, str):
        return [h.strip() for h in value.split(",") if h.strip()]
    out = []
    for h in value:
        if isinstance(h, list | tuple) and len(h) == 2:
            out.append(f"{h[0]}-{h[1]}")
        else:
            out.append(str(h))
    return out


def _mean_csv(path: Path, problems: list[str]) -> tuple[Grid, Grid | None] | None:
    """The ``mean`` and (when there is one) ``std`` columns of a ``ships_mean.csv``; None when unreadable."""
    try:
        mean = csv_grid(path, "mean")
    except (OSError, SafetyHeadsError) as err:
        problems.append(f"{path}: unreadable ({err})")
        return None
    try:
        std = csv_grid(path, "std") if "std" in csv_columns(path) else None
    except (OSError, SafetyHeadsError):
        std = None  # the means are what matters; a std column without a finite value is left out
    return mean, std


def _ships(label_: str, folder: Path, settings: dict[str, Any], problems: list[str]) -> ShipsPart | None:
    grids = ships_jsonl_grids(folder / "ships.jsonl")
    expected = settings.get("n_prompts")
    if grids:
        mean, std = mean_over_prompts(grids)
        return ShipsPart(label_, folder, mean, std, len(grids), expected, settings, "ships.jsonl")
    if (folder / "ships_mean.csv").exists():
        parsed = _mean_csv(folder / "ships_mean.csv", problems)
        if parsed is not None:
            return ShipsPart(label_, folder, parsed[0], parsed[1], None, expected, settings, "ships_mean.csv")
    return None


def _sahara(label_: str, folder: Path, settings: dict[str, Any], problems: list[str]) -> SaharaPart | None:
    sahara = _read_json(folder / "sahara.json", problems)
    if not (isinstance(sahara, dict) and isinstance(sahara.get("steps"), list)):
        return None
    steps = [s for s in sahara["steps"] if isinstance(s, dict) and "chosen" in s]
    return SaharaPart(
        label_,
        folder,
        [list(s["chosen"]) for s in steps],
        steps,
        bool(sahara.get("complete")),
        settings.get("steps"),
        settings,
    )


def _eval(label_: str, folder: Path, settings: dict[str, Any], problems: list[str]) -> EvalPart | None:
    summary = _read_json(folder / "eval_summary.json", problems)
    records = read_jsonl_readonly(folder / "eval.jsonl")
    if not isinstance(summary, dict) and not records:
        return None
    partial = not isinstance(summary, dict)
    if partial:
        # What eval would write for the prompts done so far: its own function over the records it would keep.
        records = counted_records(records)
        summary = summarize(records)
    heads = heads_list(summary.get("heads") if "heads" in summary else settings.get("heads"))
    return EvalPart(label_, folder, heads, summary, records, partial, settings.get("n_prompts"), settings)


def _helpfulness(label_: str, folder: Path, settings: dict[str, Any], problems: list[str]) -> HelpfulnessPart | None:
    helpful = _read_json(folder / "helpfulness.json", problems)
    if not isinstance(helpful, dict):
        return None
    tasks = {k: v for k, v in helpful.items() if isinstance(v, dict) and "accuracy" in v}
    base_raw = helpful.get("base")
    base = (
        {k: v for k, v in base_raw.items() if isinstance(v, dict) and "accuracy" in v}
        if isinstance(base_raw, dict)
        else {}
    )
    heads = heads_list(helpful.get("heads") or settings.get("heads"))
    return HelpfulnessPart(label_, folder, tasks, base, heads) if tasks else None


def collect(root: str | Path) -> RunContents:
    """Everything the report knows how to show, found in ``root`` and its immediate subdirectories."""
    root = Path(root)
    if not root.is_dir():
        raise SafetyHeadsError(f"run directory not found: {root}")
    found = RunContents(root=root)
    problems = found.problems
    for folder in folders(root):
        name = label(root, folder)
        settings_all = _read_json(folder / SETTINGS_FILE, problems)
        settings_all = settings_all if isinstance(settings_all, dict) else {}
        if settings_all:
            found.settings[folder] = settings_all

        def settings_of(command: str, _all: dict = settings_all) -> dict[str, Any]:
            s = _all.get(command)
            return s if isinstance(s, dict) else {}

        for parts, read, command in (
            (found.ships, _ships, "ships"),
            (found.sahara, _sahara, "sahara"),
            (found.evals, _eval, "eval"),
            (found.helpfulness, _helpfulness, "helpfulness"),
        ):
            part = read(name, folder, settings_of(command), problems)
            if part is not None:
                parts.append(part)
    found.evals.sort(key=lambda e: (not e.is_base, e.label))
    return found
