"""``safetyheads report``: one self-contained HTML page for a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safetyheads.cli import common as c

RunDirArg = Annotated[Path, typer.Argument(help="Run directory (its immediate subdirectories are searched too).")]
ReportOut = Annotated[
    Path | None, typer.Option("--out", help="Where to write the page (default: RUN_DIR/report.html).")
]
Top = Annotated[int, typer.Option("--top", help="Heads in the top-heads table.")]


def report(run_dir: RunDirArg, out: ReportOut = None, top: Top = 10) -> None:
    """Write report.html: Ships heatmap, top heads, Sahara steps, ASR, helpfulness, settings and provenance."""
    from safetyheads.report.report import build_report

    result = build_report(run_dir, out, top)
    found = [
        name
        for name, parts in (
            ("Ships", result.contents.ships),
            ("Sahara", result.contents.sahara),
            ("ASR", result.contents.evals),
            ("helpfulness", result.contents.helpfulness),
        )
        if parts
    ]
    if found:
        c.console.print(f"reported: {', '.join(found)}")
    if result.missing:
        c.console.print(f"not in this run: {', '.join(result.missing)}")
    for problem in result.contents.problems:
        c.console.print(f"skipped {problem}")
    figures = f" and {len(result.figures)} figures in {result.figures[0].parent}" if result.figures else ""
    c.console.print(f"wrote {result.path} ({result.size / 1024:.0f} KiB){figures}")
    typer.echo(str(result.path))
