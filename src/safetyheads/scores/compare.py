"""Do two runs find the same safety heads? Top-k overlap (Jaccard) and rank correlation (Spearman).

A run is a ``ships`` output directory: its ``ships_mean.csv`` (any numeric column, ``mean`` by default),
or its ``ships.jsonl`` when the CSV is missing (per-head means of ``scores`` over the prompts, computed by
``ships.mean_scores`` as the ``ships`` command computes the CSV). The report reads ships runs with the same functions.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safetyheads.core.files import write_json
from safetyheads.types import Head, SafetyHeadsError, ShipsResult

DEFAULT_KS = (1, 3, 5, 10)

Grid = list[list[float | None]]


@dataclass
class RunScores:
    name: str
    path: Path
    grid: Grid  # L x H, None where a head was not scored
    source: str  # the file the scores came from

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.grid), max((len(r) for r in self.grid), default=0)

    def values(self) -> dict[Head, float]:
        return {Head(layer, h): v for layer, row in enumerate(self.grid) for h, v in enumerate(row) if v is not None}


def _grid_from_cells(cells: list[tuple[int, int, float]]) -> Grid:
    n_layers = max(c[0] for c in cells) + 1
    width = max(c[1] for c in cells) + 1
    grid: Grid = [[None] * width for _ in range(n_layers)]
    for layer, head, value in cells:
        grid[layer][head] = value
    return grid


def number(value: Any) -> float | None:
    """A score as a float; None for a missing value, NaN or anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def mean_over_prompts(grids: Sequence[Sequence[Sequence[Any]]]) -> tuple[Grid, Grid]:
    """Per-head mean and std over per-prompt L x H grids (as read from ``ships.jsonl``), by ``ships.mean_scores``.

    The one mean the ``ships`` command writes to ``ships_mean.csv``; this reader's part is only to make the grids
    of a file it did not write rectangular: short rows and grids are padded, and a value that is not a number
    counts as missing. A head with no value in any grid is None in both.
    """
    from safetyheads.scores.ships import mean_scores  # torch, only when a per-prompt file is read

    rows = [[row if isinstance(row, list | tuple) else [] for row in g] for g in grids]
    n_layers = max((len(g) for g in rows), default=0)
    width = max((len(row) for g in rows for row in g), default=0)
    rect = [
        [
            [number(g[layer][h]) if layer < len(g) and h < len(g[layer]) else None for h in range(width)]
            for layer in range(n_layers)
        ]
        for g in rows
    ]
    if not rect:
        return [], []
    return mean_scores([ShipsResult(prompt="", scores=g) for g in rect])


def ships_jsonl_grids(path: Path) -> list[list]:
    """The non-empty ``scores`` grid of each complete leading record of a ``ships.jsonl`` file.

    A record counts as ``runs.rundir`` reads results files: a line that ends in a newline and holds a JSON object.
    The first line that does not (a torn tail) ends the records; the file is never repaired.
    """
    grids = []
    try:
        lines = path.read_bytes().splitlines(keepends=True)
    except FileNotFoundError:
        return []
    for raw in lines:
        try:
            record = json.loads(raw) if raw.endswith(b"\n") else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            record = None
        if not isinstance(record, dict):
            break
        if isinstance(record.get("scores"), list) and record["scores"]:
            grids.append(record["scores"])
    return grids


def csv_columns(csv_file: Path) -> list[str]:
    """The header of a CSV file ([] when it is empty)."""
    with open(csv_file, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


def csv_grid(csv_file: Path, column: str = "mean") -> Grid:
    """One column of a per-head CSV (``layer``, ``head``, ``column``: ``ships_mean.csv``) as an L x H grid.

    Heads without a finite value are None. SafetyHeadsError when the column is missing, a line cannot be read or
    the column holds no finite value.
    """
    with open(csv_file, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        if column not in fields or "layer" not in fields or "head" not in fields:
            have = ", ".join(fields) or "nothing"
            raise SafetyHeadsError(f"{csv_file} has no '{column}' column (it has: {have})")
        cells = []
        for line, row in enumerate(reader, 2):
            try:
                cells.append((int(row["layer"]), int(row["head"]), float(row[column])))
            except (TypeError, ValueError):
                raise SafetyHeadsError(f"{csv_file}, line {line}: cannot read layer, head and {column}") from None
    cells = [c for c in cells if math.isfinite(c[2])]
    if not cells:
        raise SafetyHeadsError(f"{csv_file} holds no scores")
    return _grid_from_cells(cells)


def read_run(path: str | Path, column: str = "mean", name: str | None = None) -> RunScores:
    """The per-head scores of a ships run directory (or of a ``ships_mean.csv`` file given directly)."""
    path = Path(path)
    csv_file = path if path.is_file() else path / "ships_mean.csv"
    label = name or (path.parent.name if path.is_file() else path.resolve().name)
    if csv_file.is_file():
        if column == "kl_mean" and column not in csv_columns(csv_file) and _plain_ships(csv_file.parent):
            column = "mean"  # a plain (--score kl) run: its mean is the harmful-set KL
        return RunScores(label, path, csv_grid(csv_file, column), str(csv_file))
    jsonl = path / "ships.jsonl"
    if path.is_dir() and jsonl.is_file():
        if column != "mean":
            raise SafetyHeadsError(f"{path} has no ships_mean.csv to read the '{column}' column from")
        mean = mean_over_prompts(ships_jsonl_grids(jsonl))[0]
        if any(v is not None for row in mean for v in row):
            return RunScores(label, path, mean, str(jsonl))
    if not path.exists():
        raise SafetyHeadsError(f"run not found: {path}")
    raise SafetyHeadsError(f"{path} holds no Ships scores (no ships_mean.csv or ships.jsonl); run `safetyheads ships`")


def _plain_ships(folder: Path) -> bool:
    """Whether ``folder`` holds a ``ships`` run made with the default score (kl), per its run.json."""
    try:
        settings = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("ships")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(settings, dict) and settings.get("score", "kl") == "kl"


def top_k(values: dict[Head, float], k: int) -> list[Head]:
    """The ``k`` highest-scoring heads, ties broken by (layer, head)."""
    return sorted(values, key=lambda h: (-values[h], h.layer, h.head))[:k]


def jaccard(a: Sequence[Head], b: Sequence[Head]) -> float:
    sa, sb = set(a), set(b)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def chance_jaccard(k: int, n: int) -> float:
    """Expected Jaccard of two independent uniformly random k-subsets of n heads."""
    if n <= 0 or k <= 0:
        return float("nan")
    if k >= n:
        return 1.0
    total = math.comb(n, k)
    # the overlap m of two random k-subsets is hypergeometric; their Jaccard is m / (2k - m)
    return sum(math.comb(k, m) * math.comb(n - k, k - m) / total * m / (2 * k - m) for m in range(0, k + 1))


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks (as ``scipy.stats.rankdata``)."""
    arr = np.asarray(values, dtype=np.float64)
    order = np.argsort(arr, kind="mergesort")
    ranks = np.empty(len(arr), dtype=np.float64)
    i = 0
    while i < len(arr):
        j = i
        while j + 1 < len(arr) and arr[order[j + 1]] == arr[order[i]]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (Pearson of average ranks); None when either side is constant."""
    if len(x) != len(y):
        raise ValueError("spearman needs two sequences of the same length")
    if len(x) < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx * rx).sum()) * float((ry * ry).sum()))
    return None if denom == 0 else float((rx * ry).sum() / denom)


def compare_runs(a: RunScores, b: RunScores, ks: Sequence[int] = DEFAULT_KS) -> dict:
    """Overlap of the top-k heads and Spearman correlation of two runs' scores over their common heads."""
    if a.shape != b.shape:
        raise SafetyHeadsError(
            f"{a.name} scores {a.shape[0]} layers x {a.shape[1]} heads and {b.name} {b.shape[0]} x {b.shape[1]}: "
            "compare needs runs of the same architecture (and the same --ablation unit)"
        )
    va, vb = a.values(), b.values()
    common = sorted(set(va) & set(vb))
    if not common:
        raise SafetyHeadsError(f"{a.name} and {b.name} have no scored head in common")
    va = {h: va[h] for h in common}
    vb = {h: vb[h] for h in common}
    n = len(common)
    overlap = []
    for k in ks:
        kk = min(int(k), n)
        ta, tb = top_k(va, kk), top_k(vb, kk)
        shared = sorted(set(ta) & set(tb))
        overlap.append(
            {
                "k": int(k),
                "k_used": kk,
                "jaccard": jaccard(ta, tb),
                "jaccard_chance": chance_jaccard(kk, n),
                "shared": [str(h) for h in shared],
                "top_a": [str(h) for h in ta],
                "top_b": [str(h) for h in tb],
            }
        )
    rho = spearman([va[h] for h in common], [vb[h] for h in common])
    return {
        "a": {"name": a.name, "path": str(a.path), "source": a.source},
        "b": {"name": b.name, "path": str(b.path), "source": b.source},
        "n_heads": n,
        "spearman": rho,
        "overlap": overlap,
    }


def compare_run(
    run_a: str | Path,
    run_b: str | Path,
    out: str | Path | None = None,
    column: str = "mean",
    ks: Sequence[int] = (1, 3, 5, 10),
    figure: Callable[[RunScores, RunScores, Path, int, str], object] | None = None,
) -> tuple[dict, Path]:
    """``safetyheads compare``: ``compare_runs`` of two ships runs by ``column``, written to ``out``/compare.json
    (default ``out``: RUN_A/compare_<name of RUN_B>); ``figure(a, b, path, k, label)`` draws ``out``/compare.png
    (the CLI passes ``report.plots.side_by_side_png``). Returns (the comparison, ``out``)."""
    k_values = [int(k) for k in ks]
    if not k_values or min(k_values) < 1:
        raise SafetyHeadsError("--k needs at least one k >= 1")
    run_a, run_b = Path(run_a), Path(run_b)
    a, b = read_run(run_a, column), read_run(run_b, column)
    if a.name == b.name:
        a.name, b.name = f"{a.name} (A)", f"{b.name} (B)"
    result = compare_runs(a, b, k_values)
    result["column"] = column
    if out is None:
        base = run_a.parent if run_a.is_file() else run_a
        out = base / f"compare_{run_b.resolve().name if run_b.is_dir() else run_b.parent.resolve().name}"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if figure is not None:
        png = out / "compare.png"
        figure(a, b, png, min(5, result["n_heads"]), column)
        result["figure"] = str(png)
    write_json(out / "compare.json", result)
    return result, out
