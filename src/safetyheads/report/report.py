"""``report.html``: one self-contained page for a run directory, plus its figures as PNG files.

Convention: a run directory holds the outputs of several commands, in itself and in its immediate
subdirectories (``RUN/ships.jsonl``, ``RUN/sahara/sahara.json``, ``RUN/eval_base/``, ``RUN/eval_ablated/``
...). The report looks for these known files in RUN and each immediate subdirectory:

==================  ====================================================================
``ships.jsonl``      per-prompt Ships (mean per head computed here; a partial sweep is fine)
``ships_mean.csv``   mean Ships per head, used when ``ships.jsonl`` is absent
``sahara.json``      Sahara steps (complete or not)
``eval_summary.json`` ASR with its interval; labelled by its ``heads`` (none: the base model)
``eval.jsonl``       per-prompt answers (examples; a summary is computed when the summary is missing)
``helpfulness.json`` accuracy per task, with ``base`` accuracies when present
``run.json``         settings per command and the model's provenance (``runs.RunDir``)
==================  ====================================================================

Whatever is found is reported; a part that is missing is named as missing. Nothing is written into
the run's own files: the report and ``figures/*.png`` are new files. The page has no scripts and loads
nothing: its CSS is inline and its images are ``data:`` URIs (a Content-Security-Policy says so too).
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetyheads.report.plots import heatmap_png, outcome_bars_png
from safetyheads.runs.rundir import PROVENANCE_KEY, SETTINGS_FILE, read_jsonl_readonly
from safetyheads.types import SafetyHeadsError

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"
MAX_SAHARA_HEATMAPS = 6
MAX_EXAMPLES = 4
EXAMPLES_PER_OUTCOME = 2
MAX_RESPONSE_CHARS = 700


# ---------------------------------------------------------------------------------------------- what was found


@dataclass
class ShipsPart:
    label: str
    folder: Path
    mean: list[list[float | None]]
    std: list[list[float | None]] | None
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


@dataclass
class Report:
    path: Path
    figures: list[Path]
    contents: RunContents
    missing: list[str]
    size: int


# ---------------------------------------------------------------------------------------------- reading


def _folders(root: Path) -> list[Path]:
    subs = [
        d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith((".", "_")) and d.name != FIGURES_DIR
    ]
    return [root, *subs]


def _label(root: Path, folder: Path) -> str:
    return root.name if folder == root else folder.name


def _read_json(path: Path, problems: list[str]) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        problems.append(f"{path}: unreadable ({err})")
        return None


def _heads_list(value: Any) -> list[str]:
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


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _mean_std(grids: list[list[list[Any]]]) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """Per-cell mean and population std over grids, ignoring missing values (as ``ships.mean_scores``)."""
    n_layers = max(len(g) for g in grids)
    width = max((len(row) for g in grids for row in g), default=0)
    mean: list[list[float | None]] = [[None] * width for _ in range(n_layers)]
    std: list[list[float | None]] = [[None] * width for _ in range(n_layers)]
    for layer in range(n_layers):
        for head in range(width):
            vals = [
                v
                for g in grids
                if layer < len(g) and head < len(g[layer])
                for v in [_float(g[layer][head])]
                if v is not None
            ]
            if vals:
                m = sum(vals) / len(vals)
                mean[layer][head] = m
                std[layer][head] = math.sqrt(sum((v - m) ** 2 for v in vals) / len(vals))
    return mean, std


def _mean_csv(path: Path, problems: list[str]) -> tuple[list, list] | None:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        cells = [(int(r["layer"]), int(r["head"]), float(r["mean"]), float(r.get("std") or "nan")) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as err:
        problems.append(f"{path}: unreadable ({err})")
        return None
    if not cells:
        return None
    n_layers = max(c[0] for c in cells) + 1
    width = max(c[1] for c in cells) + 1
    mean: list[list[float | None]] = [[None] * width for _ in range(n_layers)]
    std: list[list[float | None]] = [[None] * width for _ in range(n_layers)]
    for layer, head, m, s in cells:
        mean[layer][head] = m
        std[layer][head] = None if math.isnan(s) else s
    return mean, std


def _summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Shares of a partial run (no summary yet), computed as ``eval`` computes them."""
    from safetyheads.evaluation.asr import summarize

    known = [r for r in records if r.get("outcome") in ("refused", "complied", "broken")]
    return summarize(known)


def collect(root: str | Path) -> RunContents:
    """Everything the report knows how to show, found in ``root`` and its immediate subdirectories."""
    root = Path(root)
    if not root.is_dir():
        raise SafetyHeadsError(f"run directory not found: {root}")
    found = RunContents(root=root)
    problems = found.problems
    for folder in _folders(root):
        label = _label(root, folder)
        settings_all = _read_json(folder / SETTINGS_FILE, problems)
        settings_all = settings_all if isinstance(settings_all, dict) else {}
        if settings_all:
            found.settings[folder] = settings_all

        def settings_of(command: str, _all: dict = settings_all) -> dict[str, Any]:
            s = _all.get(command)
            return s if isinstance(s, dict) else {}

        # Ships
        ships_settings = settings_of("ships")
        records = read_jsonl_readonly(folder / "ships.jsonl")
        grids = [r["scores"] for r in records if isinstance(r.get("scores"), list) and r["scores"]]
        if grids:
            mean, std = _mean_std(grids)
            found.ships.append(
                ShipsPart(
                    label, folder, mean, std, len(grids), ships_settings.get("n_prompts"), ships_settings, "ships.jsonl"
                )  # fmt: skip
            )
        elif (folder / "ships_mean.csv").exists():
            parsed = _mean_csv(folder / "ships_mean.csv", problems)
            if parsed is not None:
                found.ships.append(
                    ShipsPart(
                        label,
                        folder,
                        parsed[0],
                        parsed[1],
                        None,
                        ships_settings.get("n_prompts"),
                        ships_settings,
                        "ships_mean.csv",
                    )  # fmt: skip
                )
        # Sahara
        sahara = _read_json(folder / "sahara.json", problems)
        if isinstance(sahara, dict) and isinstance(sahara.get("steps"), list):
            steps = [s for s in sahara["steps"] if isinstance(s, dict) and "chosen" in s]
            sahara_settings = settings_of("sahara")
            found.sahara.append(
                SaharaPart(
                    label,
                    folder,
                    [list(s["chosen"]) for s in steps],
                    steps,
                    bool(sahara.get("complete")),
                    sahara_settings.get("steps"),
                    sahara_settings,
                )
            )
        # Eval
        summary = _read_json(folder / "eval_summary.json", problems)
        eval_records = read_jsonl_readonly(folder / "eval.jsonl")
        eval_settings = settings_of("eval")
        if isinstance(summary, dict) or eval_records:
            partial = not isinstance(summary, dict)
            summary = summary if isinstance(summary, dict) else _summarise(eval_records)
            heads = _heads_list(summary.get("heads") if "heads" in summary else eval_settings.get("heads"))
            found.evals.append(
                EvalPart(
                    label, folder, heads, summary, eval_records, partial, eval_settings.get("n_prompts"), eval_settings
                )  # fmt: skip
            )
        # Helpfulness
        helpful = _read_json(folder / "helpfulness.json", problems)
        if isinstance(helpful, dict):
            tasks = {k: v for k, v in helpful.items() if isinstance(v, dict) and "accuracy" in v}
            base_raw = helpful.get("base")
            base = (
                {k: v for k, v in base_raw.items() if isinstance(v, dict) and "accuracy" in v}
                if isinstance(base_raw, dict)
                else {}
            )
            heads = _heads_list(helpful.get("heads") or settings_of("helpfulness").get("heads"))
            if tasks:
                found.helpfulness.append(HelpfulnessPart(label, folder, tasks, base, heads))
    found.evals.sort(key=lambda e: (not e.is_base, e.label))
    return found


# ---------------------------------------------------------------------------------------------- HTML helpers

CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#d8dde6; --soft:#f4f6f9; --accent:#3b5bdb; --bad:#c92a2a;
        --good:#2b8a3e; --warn:#e67700; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--ink); background:#fff; }
header { background:linear-gradient(90deg,#1f2a48,#3b5bdb); color:#fff; padding:22px 32px; }
header h1 { margin:0 0 4px; font-size:24px; }
header p { margin:0; opacity:.85; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:8px 32px 48px; }
section { margin-top:28px; }
h2 { font-size:19px; border-bottom:2px solid var(--line); padding-bottom:4px; margin:0 0 12px; }
h3 { font-size:16px; margin:18px 0 8px; }
table { border-collapse:collapse; margin:6px 0 14px; font-size:14px; }
th, td { border:1px solid var(--line); padding:5px 10px; text-align:left; vertical-align:top; }
th { background:var(--soft); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr:nth-child(even) td { background:#fafbfc; }
figure { margin:8px 0 16px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
figcaption { color:var(--muted); font-size:13px; }
.figs { display:flex; flex-wrap:wrap; gap:12px; }
.figs figure { flex:1 1 340px; max-width:560px; }
.note { color:var(--muted); font-size:13px; }
.missing { color:var(--warn); }
.badge { display:inline-block; padding:0 7px; border-radius:9px; font-size:12px; font-weight:600; color:#fff; }
.b-harm { background:var(--bad); } .b-safe { background:var(--good); } .b-degen { background:var(--warn); }
.b-part { background:var(--warn); } .b-ok { background:var(--good); }
.example { border:1px solid var(--line); border-radius:6px; padding:10px 14px; margin:10px 0; }
.example .prompt { font-weight:600; margin-bottom:6px; }
.answers { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:10px; }
.answer { background:var(--soft); border-radius:4px; padding:8px 10px; }
.answer pre { white-space:pre-wrap; word-break:break-word; margin:4px 0 0; font:13px/1.4 ui-monospace, Menlo,
              Consolas, monospace; }
code { background:var(--soft); padding:0 4px; border-radius:3px; }
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "run"


def _pct(x: Any) -> str:
    v = _float(x)
    return "–" if v is None else f"{100 * v:.1f}%"


_BADGES = {"complied": "b-harm", "refused": "b-safe", "broken": "b-degen"}


def _share(summary: dict[str, Any], key: str) -> str:
    """A share with its 95% interval, for a table cell."""
    ci = summary.get(f"{key}_ci") or [None, None]
    if _float(summary.get(key)) is None:
        return "–"
    return f"{_pct(summary.get(key))} <span class='note'>[{_pct(ci[0])}–{_pct(ci[1])}]</span>"


def _num(x: Any, digits: int = 4) -> str:
    v = _float(x)
    return "–" if v is None else f"{v:.{digits}g}"


def _img(data: bytes, alt: str, element_id: str, css_class: str = "heatmap") -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<img id="{esc(element_id)}" class="{css_class}" alt="{esc(alt)}" src="{uri}">'


def _table(
    element_id: str, headers: list[str], rows: list[list[str]], numeric: set[int] | frozenset[int] = frozenset()
) -> str:
    """A table whose cells are already-escaped HTML."""
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>" for i, h in
                   enumerate(headers))  # fmt: skip
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )  # fmt: skip
    return f'<table id="{esc(element_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _ablation_text(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("kind", "?")
        eps = value.get("epsilon")
        return f"{kind}, ε={eps:g}" if isinstance(eps, int | float) else str(kind)
    return "–" if value in (None, "") else str(value)


def _score_words(settings: dict[str, Any]) -> tuple[str, str, str]:
    """(name, unit, meaning in HTML) of the score a ships run wrote (``ships --score``)."""
    score = settings.get("score", "kl")
    if score == "refusal":
        return (
            "refusal score",
            "refusal log-odds change",
            "The refusal score is the drop in refusal log-odds at the first answer position (positive: refuses less)",
        )
    if score == "contrastive":
        lam = settings.get("lambda", "λ")
        return (
            "contrastive score",
            f"harmful KL - {lam} x harmless KL (nats)",
            f"The contrastive score is Ships on the harmful prompts minus {esc(str(lam))} × Ships on the harmless ones",
        )
    return "Ships", "KL (nats)", "Ships is KL(p<sub>base</sub> ‖ p<sub>ablated</sub>) of the next-token distribution"


def _settings_ablation(settings: dict[str, Any]) -> str:
    if not settings:
        return "–"
    kind = settings.get("ablation")
    eps = settings.get("epsilon")
    if kind is None:
        return "–"
    return f"{kind}, ε={eps:g}" if isinstance(eps, int | float) else str(kind)


def _beam_note(beam: Any) -> str:
    """A sentence for a beam search (``sahara --beam K``, K > 1); nothing for the greedy one."""
    if not isinstance(beam, int) or isinstance(beam, bool) or beam <= 1:
        return ""
    return (
        f" Beam search (<code>--beam {beam}</code>): {beam} groups are kept after each step, and these are the steps "
        "that built the best group of the last beam; <code>sahara.json</code> holds every beam."
    )


# ---------------------------------------------------------------------------------------------- sections


class _Builder:
    def __init__(self, contents: RunContents, figures_dir: Path, top: int):
        self.c = contents
        self.figures_dir = figures_dir
        self.top = top
        self.figures: list[Path] = []
        self.missing: list[str] = []

    def figure(self, data_fn, name: str) -> tuple[bytes, Path]:
        path = self.figures_dir / name
        data = data_fn(path)
        self.figures.append(path)
        return data, path

    # -- Ships

    def ships(self) -> str:
        out = ['<section id="ships"><h2>Ships: mean per layer × head</h2>']
        if not self.c.ships:
            self.missing.append("Ships")
            out.append(
                '<p class="missing" id="ships-missing">Not in this run: no <code>ships.jsonl</code> or '
                "<code>ships_mean.csv</code> in the run directory or its subdirectories "
                "(<code>safetyheads ships --out DIR</code> writes them).</p></section>"
            )
            return "".join(out)
        for k, part in enumerate(self.c.ships):
            suffix = "" if k == 0 else f"-{k + 1}"
            settings = part.settings
            kind = settings.get("ablation", "?")
            status = self._progress_badge(part.n_prompts, part.expected, "prompts")
            name, unit, meaning = _score_words(settings)
            title = f"Mean {name} ({kind}) over {part.n_prompts if part.n_prompts is not None else '?'} prompts"
            highlight = [(h[0], h[1]) for h in self._ranked(part)[:5]]
            data, path = self.figure(
                lambda p, part=part, title=title, highlight=highlight, unit=unit: heatmap_png(
                    part.mean, title, p, colorbar_label=unit, highlight=highlight
                ),
                f"{_slug(part.label)}-ships-mean.png",
            )
            out.append(f"<h3>{esc(part.label)} {status}</h3>")
            out.append(
                f'<p class="note">From <code>{esc(part.folder / part.source)}</code>; ablation '
                f"{esc(_settings_ablation(settings))}, template {esc(settings.get('template', '–'))}. "
                f"{meaning}; the five highest heads are framed in red.</p>"
            )
            out.append(
                f"<figure>{_img(data, f'heatmap of mean {name} per layer and head', 'ships-heatmap' + suffix)}"
                f"<figcaption>Saved as <code>{esc(path.name)}</code> in <code>{esc(path.parent)}</code>."
                "</figcaption></figure>"
            )
            rows = [
                [str(i), f"<b>{layer}-{head}</b>", str(layer), str(head), _num(m), _num(s, 3)]
                for i, (layer, head, m, s) in enumerate(self._ranked(part)[: self.top], 1)
            ]
            out.append(f"<h3>Top {min(self.top, len(rows))} heads</h3>")
            out.append(
                _table(
                    "top-heads" + suffix,
                    ["rank", "head", "layer", "head #", f"mean {name}", "std"],
                    rows,
                    {0, 2, 3, 4, 5},
                )
            )
        out.append("</section>")
        return "".join(out)

    @staticmethod
    def _ranked(part: ShipsPart) -> list[tuple[int, int, float, float | None]]:
        cells = [
            (layer, head, m, (part.std[layer][head] if part.std else None))
            for layer, row in enumerate(part.mean)
            for head, m in enumerate(row)
            if m is not None
        ]
        return sorted(cells, key=lambda c: (-c[2], c[0], c[1]))

    @staticmethod
    def _progress_badge(done: int | None, expected: Any, what: str) -> str:
        if done is None or not isinstance(expected, int):
            return ""
        if done >= expected:
            return f'<span class="badge b-ok">complete: {done} {what}</span>'
        return f'<span class="badge b-part">partial: {done} of {expected} {what}</span>'

    # -- Sahara

    def sahara(self) -> str:
        out = ['<section id="sahara"><h2>Sahara: greedy head-group search</h2>']
        if not self.c.sahara:
            self.missing.append("Sahara")
            out.append(
                '<p class="missing" id="sahara-missing">Not in this run: no <code>sahara.json</code> in the run '
                "directory or its subdirectories (<code>safetyheads sahara --out DIR</code> writes it).</p></section>"
            )
            return "".join(out)
        for k, part in enumerate(self.c.sahara):
            suffix = "" if k == 0 else f"-{k + 1}"
            n = len(part.steps)
            if part.complete:
                badge = f'<span class="badge b-ok">complete: {n} steps</span>'
            else:
                of = f" of {part.expected_steps}" if isinstance(part.expected_steps, int) else ""
                badge = f'<span class="badge b-part">partial: {n}{of} steps</span>'
            s = part.settings
            out.append(f"<h3>{esc(part.label)} {badge}</h3>")
            out.append(
                f'<p class="note">From <code>{esc(part.folder / "sahara.json")}</code>; ablation '
                f"{esc(_settings_ablation(s))}, rank {esc(s.get('rank', '–'))}, {esc(s.get('n_prompts', '?'))} "
                "prompts. Each step adds the head whose ablation, on top of the group so far, turns the "
                "prompts' final-state subspace furthest (generalized Ships: sum of principal angles)."
                f"{_beam_note(s.get('beam'))}</p>"
            )
            rows, group = [], []
            for i, step in enumerate(part.steps, 1):
                layer, head = step["chosen"][:2]
                group.append(f"{layer}-{head}")
                scores = step.get("scores") or []
                value = scores[layer][head] if layer < len(scores) and head < len(scores[layer]) else None
                rows.append([str(i), f"<b>{layer}-{head}</b>", _num(value), esc(", ".join(group))])
            out.append(_table("sahara-steps" + suffix, ["step", "chosen head", "gen. Ships (deg)", "group"], rows,
                              {0, 2}))  # fmt: skip
            figs = []
            for i, step in enumerate(part.steps[:MAX_SAHARA_HEATMAPS], 1):
                if not isinstance(step.get("scores"), list):
                    continue
                chosen = tuple(step["chosen"][:2])
                data, path = self.figure(
                    lambda p, step=step, i=i, chosen=chosen: heatmap_png(
                        step["scores"], f"Sahara step {i}: generalized Ships", p, colorbar_label="degrees",
                        highlight=[chosen], cmap="magma",
                    ),
                    f"{_slug(part.label)}-sahara-step{i}.png",
                )  # fmt: skip
                figs.append(
                    f"<figure>{_img(data, f'Sahara step {i} heatmap', f'sahara-heatmap{suffix}-{i}')}"
                    f"<figcaption>Step {i} (chosen head framed); <code>{esc(path.name)}</code></figcaption></figure>"
                )
            out.append(f'<div class="figs">{"".join(figs)}</div>')
        out.append("</section>")
        return "".join(out)

    # -- ASR

    def asr(self) -> str:
        out = ['<section id="asr"><h2>Attack success rate before and after ablation</h2>']
        evals = self.c.evals
        if not evals:
            self.missing.append("ASR (eval)")
            out.append(
                '<p class="missing" id="asr-missing">Not in this run: no <code>eval_summary.json</code> or '
                "<code>eval.jsonl</code> in the run directory or its subdirectories (<code>safetyheads eval "
                "--out DIR/eval_base</code>, then with <code>--heads</code> into <code>DIR/eval_ablated</code>)."
                "</p></section>"
            )
            return "".join(out)
        if not any(e.is_base for e in evals):
            out.append('<p class="missing">No base run (an eval with no heads ablated) was found.</p>')
        if all(e.is_base for e in evals):
            out.append('<p class="missing">No ablated run (an eval with <code>--heads</code>) was found.</p>')
        base = next((e for e in evals if e.is_base), None)
        rows = []
        for e in evals:
            s = e.summary
            what = e.what()
            delta = "–"
            if base is not None and e is not base and _float(s.get("complied")) is not None:
                b = _float(base.summary.get("complied"))
                if b is not None:
                    delta = f"{100 * (float(s['complied']) - b):+.1f} pts"
            n = s.get("n")
            n_text = esc(n) + (f" of {esc(e.expected)}" if isinstance(e.expected, int) and e.expected != n else "")
            flag = ' <span class="badge b-part">partial</span>' if e.partial else ""
            rows.append(
                [
                    f"{esc(e.label)}{flag}",
                    esc(what),
                    esc(_ablation_text(s.get("ablation")) if not e.is_base else "–"),
                    _share(s, "refused"),
                    f"<b>{_share(s, 'complied')}</b>",
                    esc(delta),
                    _share(s, "broken"),
                    n_text,
                    esc(s.get("judge", e.settings.get("judge", "–"))),
                ]
            )
        out.append(
            '<p class="note">Each answer is judged <b>refused</b>, <b>complied</b> (it attempts the harmful task, '
            "readably: attack success) or <b>broken</b> (neither: off-topic, nonsense, loops). Brackets hold "
            "95% bootstrap intervals over prompts.</p>"
        )
        out.append(
            _table(
                "asr-table",
                ["run", "heads", "ablation", "refused", "complied (ASR)", "Δ complied vs base", "broken", "n", "judge"],
                rows,
                {3, 4, 5, 6, 7},
            )  # fmt: skip
        )
        if any(e.partial for e in evals):
            out.append(
                '<p class="note">Partial runs have no <code>eval_summary.json</code> yet; their shares come from '
                "<code>eval.jsonl</code>.</p>"
            )
        labels = [e.what().removeprefix("ablated: ") + f" ({e.label})" for e in evals]
        data, path = self.figure(
            lambda p: outcome_bars_png(labels, [e.summary for e in evals], "What the answers did", p),
            "asr.png",
        )
        out.append(f"<figure>{_img(data, 'refused, complied and broken per run', 'asr-chart', 'chart')}</figure>")
        out.append(self._categories(evals))
        out.append(self._examples(evals))
        out.append(self._per_outcome(evals))
        out.append("</section>")
        return "".join(out)

    def _categories(self, evals: list[EvalPart]) -> str:
        cats = sorted({c for e in evals for c in (e.summary.get("categories") or {})})
        if not cats:
            return ""
        headers = ["category"] + [("base" if e.is_base else "ablated") + f" ({e.label})" for e in evals]
        rows = []
        for cat in cats:
            row = [esc(cat)]
            for e in evals:
                s = (e.summary.get("categories") or {}).get(cat) or {}
                row.append(
                    f"{_pct(s.get('complied'))} <span class='note'>(n={esc(s.get('n', 0))})</span>" if s else "–"
                )
            rows.append(row)
        return "<h3>Complied share (ASR) per category</h3>" + _table("asr-categories", headers, rows)

    @staticmethod
    def _answer(e: EvalPart, record: dict[str, Any]) -> str:
        badges = []
        outcome = record.get("outcome")
        if outcome in _BADGES:
            badges.append(f'<span class="badge {_BADGES[outcome]}">{esc(outcome)}</span>')
        text = record.get("response")
        if text is None:
            body = '<p class="note">(no text generated: judged without generating)</p>'
        else:
            text = str(text)
            if len(text) > MAX_RESPONSE_CHARS:
                text = text[:MAX_RESPONSE_CHARS] + " …"
            body = f"<pre>{esc(text)}</pre>"
        who = e.what().removeprefix("ablated: ")
        return f'<div class="answer"><b>{esc(who)}</b> {" ".join(badges)}{body}</div>'

    def _examples(self, evals: list[EvalPart]) -> str:
        with_records = [e for e in evals if e.records]
        if not with_records:
            return '<p class="note">No per-prompt answers (<code>eval.jsonl</code>) to show.</p>'
        base = next((e for e in with_records if e.is_base), None)
        others = [e for e in with_records if e is not base]
        by_prompt = {id(e): {str(r.get("prompt")): r for r in e.records} for e in with_records}
        if base is not None and others:
            first = others[0]

            def rank(prompt: str) -> tuple[int, int]:
                b = by_prompt[id(base)].get(prompt) or {}
                a = by_prompt[id(first)].get(prompt) or {}
                flipped = b.get("outcome") != "complied" and a.get("outcome") == "complied"
                return (0 if flipped else 1 if a.get("outcome") != b.get("outcome") else 2, 0)

            shared = [p for p in by_prompt[id(base)] if all(p in by_prompt[id(e)] for e in others)]
            prompts = sorted(shared, key=rank)[:MAX_EXAMPLES]
            shown = [base, *others]
        else:
            e = with_records[0]
            prompts = [str(r.get("prompt")) for r in sorted(e.records, key=lambda r: r.get("outcome") != "complied")][
                :MAX_EXAMPLES
            ]
            shown = [e]
        cards = []
        for prompt in prompts:
            answers = "".join(self._answer(e, by_prompt[id(e)][prompt]) for e in shown if prompt in by_prompt[id(e)])
            cards.append(
                f'<div class="example"><div class="prompt">Prompt: {esc(prompt)}</div>'
                f'<div class="answers">{answers}</div></div>'
            )
        note = (
            "Prompts where the base model did not comply and the ablated model complied come first."
            if base is not None and others
            else ""
        )
        return f'<h3>Example responses</h3><p class="note">{note}</p><div id="examples">{"".join(cards)}</div>'

    def _per_outcome(self, evals: list[EvalPart]) -> str:
        """Up to two answers of each outcome for every run: what "refused", "complied" and "broken" looked like."""
        blocks = []
        for e in (e for e in evals if e.records):
            cells = []
            for outcome in ("refused", "complied", "broken"):
                picked = [r for r in e.records if r.get("outcome") == outcome][:EXAMPLES_PER_OUTCOME]
                answers = "".join(
                    f'<div class="prompt">Prompt: {esc(r.get("prompt"))}</div>{self._answer(e, r)}' for r in picked
                )
                cells.append(f"<h4>{esc(outcome)} ({len([r for r in e.records if r.get('outcome') == outcome])})</h4>"
                             + (answers or '<p class="note">none</p>'))  # fmt: skip
            blocks.append(f"<details><summary>{esc(e.label)}: {esc(e.what())}</summary>{''.join(cells)}</details>")
        if not blocks:
            return ""
        return (
            "<h3>Two answers of each outcome, per run</h3>"
            '<p class="note">The first answers (in prompt order) that the judge called refused, complied and broken: '
            "read them before trusting a share.</p>" + "".join(blocks)
        )

    # -- helpfulness

    def helpfulness(self) -> str:
        out = ['<section id="helpfulness"><h2>Helpfulness: zero-shot accuracy</h2>']
        if not self.c.helpfulness:
            self.missing.append("Helpfulness")
            out.append(
                '<p class="missing" id="helpfulness-missing">Not in this run: no <code>helpfulness.json</code> in '
                "the run directory or its subdirectories (<code>safetyheads helpfulness --out DIR</code>).</p>"
                "</section>"
            )
            return "".join(out)
        for k, part in enumerate(self.c.helpfulness):
            suffix = "" if k == 0 else f"-{k + 1}"
            heads = ", ".join(part.heads) if part.heads else None
            what = f"with {heads} ablated" if heads else ("ablated" if part.base else "")
            out.append(f"<h3>{esc(part.label)} {esc(what)}</h3>")
            has_base = bool(part.base)
            headers = ["task", "n", "accuracy", "acc_norm"] + (["base accuracy", "base acc_norm", "Δ accuracy"]
                                                                if has_base else [])  # fmt: skip
            rows = []
            for task, r in part.tasks.items():
                row = [esc(task), esc(r.get("n", "–")), _num(r.get("accuracy"), 3), _num(r.get("accuracy_norm"), 3)]
                if has_base:
                    b = part.base.get(task) or {}
                    acc, base_acc = _float(r.get("accuracy")), _float(b.get("accuracy"))
                    delta = f"{100 * (acc - base_acc):+.1f} pts" if acc is not None and base_acc is not None else "–"
                    row += [_num(b.get("accuracy"), 3), _num(b.get("accuracy_norm"), 3), delta]
                rows.append(row)
            out.append(_table("helpfulness-table" + suffix, headers, rows, set(range(1, len(headers)))))
        out.append("</section>")
        return "".join(out)

    # -- settings and provenance

    def provenance(self) -> str:
        out = ['<section id="provenance"><h2>Ablation settings and model provenance</h2>']
        if not self.c.settings:
            self.missing.append("Run settings (run.json)")
            out.append(
                '<p class="missing" id="provenance-missing">No <code>run.json</code> found: the settings and '
                "the model's provenance are unknown.</p></section>"
            )
            return "".join(out)
        for folder, recorded in sorted(self.c.settings.items()):
            prov_all = recorded.get(PROVENANCE_KEY) if isinstance(recorded.get(PROVENANCE_KEY), dict) else {}
            for command, settings in recorded.items():
                if command == PROVENANCE_KEY or not isinstance(settings, dict):
                    continue
                out.append(f"<h3><code>{esc(command)}</code> in {esc(_label(self.c.root, folder))}</h3>")
                rows = [[esc(k), f"<code>{esc(json.dumps(v) if not isinstance(v, str) else v)}</code>"]
                        for k, v in settings.items()]  # fmt: skip
                prov = prov_all.get(command) if isinstance(prov_all, dict) else None
                if isinstance(prov, dict):
                    rows += [[esc(k), v] for k, v in self._provenance_rows(prov)]
                slug = _slug(f"{_label(self.c.root, folder)}-{command}")
                out.append(_table(f"settings-{slug}", ["setting", "value"], rows))
        out.append("</section>")
        return "".join(out)

    @staticmethod
    def _provenance_rows(prov: dict[str, Any]) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        source = prov.get("source") or {}
        if isinstance(source, dict):
            kind = source.get("kind", "?")
            where = source.get("path") or source.get("id") or ""
            text = f"{kind}: {where}" if where else str(kind)
            meta = source.get("meta")
            if isinstance(meta, dict) and meta:
                text += " (" + ", ".join(f"{k}={v}" for k, v in meta.items() if v is not None) + ")"
            if source.get("revision"):
                text += f" @ {source['revision']}"
            rows.append(("model source", esc(text)))
        for key, label in (("architecture", "architecture"), ("fingerprint", "weights fingerprint"),
                           ("dtype", "dtype"), ("device", "device"), ("backend", "backend"), ("workers", "Ray workers"),
                           ("gpus_per_worker", "GPUs per worker"), ("host", "host")):  # fmt: skip
            if prov.get(key) is not None:
                rows.append((label, f"<code>{esc(prov[key])}</code>"))
        shape = prov.get("shape")
        if isinstance(shape, dict):
            rows.append(("shape", esc(", ".join(f"{k}={v}" for k, v in shape.items()))))
        if isinstance(prov.get("device_map"), dict):
            rows.append(("device map", esc(", ".join(f"{k}: {v} modules" for k, v in prov["device_map"].items()))))
        versions = prov.get("versions")
        if isinstance(versions, dict):
            rows.append(("versions", esc(", ".join(f"{k} {v}" for k, v in versions.items() if v))))
        if prov.get("created"):
            started = f"{prov['created']}; last start {prov.get('updated', '?')} ({prov.get('starts', 1)} start(s))"
            rows.append(("run started", esc(started)))
        return rows

    # -- contents

    def contents(self) -> str:
        def where(parts) -> str:
            return ", ".join(sorted({esc(p.label) for p in parts}))

        items = [
            ("Ships heatmap and top heads", self.c.ships, "#ships"),
            ("Sahara steps", self.c.sahara, "#sahara"),
            ("ASR before / after ablation", self.c.evals, "#asr"),
            ("Helpfulness", self.c.helpfulness, "#helpfulness"),
        ]
        rows = []
        for name, parts, anchor in items:
            status = (
                f'<span class="badge b-ok">found</span> in {where(parts)}'
                if parts
                else '<span class="badge b-part">missing</span> not in this run'
            )
            rows.append([f'<a href="{anchor}">{esc(name)}</a>', status])
        settings_status = (
            f'<span class="badge b-ok">found</span> in {len(self.c.settings)} folder(s)'
            if self.c.settings
            else '<span class="badge b-part">missing</span> no run.json'
        )
        rows.append(['<a href="#provenance">Settings and provenance</a>', settings_status])
        problems = ""
        if self.c.problems:
            problems = '<p class="missing">Unreadable files (skipped): ' + "; ".join(
                esc(p) for p in self.c.problems
            ) + "</p>"  # fmt: skip
        return f'<section id="contents"><h2>Contents</h2>{_table("contents-table", ["part", "status"], rows)}' \
               f"{problems}</section>"  # fmt: skip


def build_report(
    run_dir: str | Path, out: str | Path | None = None, top: int = 10, figures_dir: str | Path | None = None
) -> Report:
    """Write ``report.html`` (default: in ``run_dir``) and its figures (default: ``figures/`` next to it)."""
    contents = collect(run_dir)
    out_path = Path(out) if out is not None else contents.root / REPORT_FILE
    if out_path.exists() and out_path.is_dir():
        out_path = out_path / REPORT_FILE
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figs = Path(figures_dir) if figures_dir is not None else out_path.parent / FIGURES_DIR
    builder = _Builder(contents, figs, max(1, top))
    body = "".join([builder.ships(), builder.sahara(), builder.asr(), builder.helpfulness(), builder.provenance()])
    models = sorted(
        {
            str(s.get("model"))
            for recorded in contents.settings.values()
            for k, s in recorded.items()
            if k != PROVENANCE_KEY and isinstance(s, dict) and s.get("model")
        }
    )
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    subtitle = f"{esc(contents.root.resolve())} · model {esc(', '.join(models) or 'unknown')} · generated {now}"
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>safetyheads report: {esc(contents.root.name)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>Safety heads report: {esc(contents.root.name)}</h1><p>{subtitle}</p></header>"
        f"<main>{builder.contents()}{body}</main></body></html>\n"
    )
    from safetyheads.runs.rundir import atomic_write_text

    atomic_write_text(out_path, page)
    return Report(
        path=out_path,
        figures=builder.figures,
        contents=contents,
        missing=builder.missing,
        size=out_path.stat().st_size,
    )
