"""``report.html``: one self-contained page for a run directory, plus its figures as PNG files.

``build_report`` puts the pieces together:

- ``report.read``: finding the known files of a run directory and its immediate subdirectories (``collect``);
- ``report.stats``: the few numbers derived here (ranking, differences); means and ASR intervals are not among them:
  they come from ``scores`` (``ships.mean_scores``) and from ``eval_summary.json`` / ``evaluation.asr``;
- ``report.html``: CSS, cells, tables and the page frame; ``report.sections`` and ``report.asr_section``: the sections;
- ``report.plots``: the figures.

Whatever is found is reported; a part that is missing is named as missing. Nothing is written into
the run's own files: the report and ``figures/*.png`` are new files. The page has no scripts and loads
nothing: its CSS is inline and its images are ``data:`` URIs (a Content-Security-Policy says so too).

The names this module had before the split (``collect``, ``RunContents``, the parts, ``CSS``, ``esc`` ...) are
still importable from here.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from safetyheads.report import asr_section, sections
from safetyheads.report.asr_section import EXAMPLES_PER_OUTCOME, MAX_EXAMPLES, MAX_RESPONSE_CHARS
from safetyheads.report.html import CSP, CSS, esc, page
from safetyheads.report.read import (
    FIGURES_DIR,
    EvalPart,
    HelpfulnessPart,
    RunContents,
    SaharaPart,
    ShipsPart,
    collect,
)
from safetyheads.report.sections import MAX_SAHARA_HEATMAPS, Context
from safetyheads.runs.rundir import PROVENANCE_KEY, atomic_write_text

__all__ = [
    "CSP",
    "CSS",
    "EXAMPLES_PER_OUTCOME",
    "FIGURES_DIR",
    "MAX_EXAMPLES",
    "MAX_RESPONSE_CHARS",
    "MAX_SAHARA_HEATMAPS",
    "REPORT_FILE",
    "EvalPart",
    "HelpfulnessPart",
    "Report",
    "RunContents",
    "SaharaPart",
    "ShipsPart",
    "build_report",
    "collect",
    "esc",
]

REPORT_FILE = "report.html"


@dataclass
class Report:
    path: Path
    figures: list[Path]
    contents: RunContents
    missing: list[str]
    size: int


def _models(contents: RunContents) -> list[str]:
    """The models the run's commands were given (run.json)."""
    return sorted(
        {
            str(s.get("model"))
            for recorded in contents.settings.values()
            for k, s in recorded.items()
            if k != PROVENANCE_KEY and isinstance(s, dict) and s.get("model")
        }
    )


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
    ctx = Context(contents, figs, max(1, top))
    body = "".join(
        section(ctx)
        for section in (sections.ships, sections.sahara, asr_section.asr, sections.helpfulness, sections.provenance)
    )
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    models = ", ".join(_models(contents)) or "unknown"
    subtitle = f"{esc(contents.root.resolve())} · model {esc(models)} · generated {now}"
    atomic_write_text(out_path, page(contents.root.name, subtitle, sections.contents(ctx) + body))
    return Report(
        path=out_path,
        figures=ctx.figures,
        contents=contents,
        missing=ctx.missing,
        size=out_path.stat().st_size,
    )
