"""``safetyheads datasets``: the built-in datasets, their row counts, licences and source packages."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from safetyheads.data import datasets as ds
from safetyheads.types import SafetyHeadsError

stdout = Console()


def datasets() -> None:
    """List the built-in datasets (read from installed packages) with row counts and licences."""
    table = Table(
        title="Built-in datasets",
        caption="prompt sets (for --dataset NAME) first, then the multiple-choice helpfulness tasks",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("name", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("licence", min_width=12)
    table.add_column("package", no_wrap=True)
    table.add_column("installed", no_wrap=True)
    missing: dict[str, str] = {}
    previous_kind = None
    for name, info in ds.DATASETS.items():
        if previous_kind is not None and info.kind != previous_kind:
            table.add_section()
        previous_kind = info.kind
        try:
            rows = ds.row_count(name)
        except SafetyHeadsError:
            table.add_row(name, f"({info.rows})", info.licence, info.distribution, "[red]no[/red]")
            missing[info.distribution] = info.install_hint()
            continue
        shown = str(rows) if rows == info.rows else f"[yellow]{rows} (expected {info.rows})[/yellow]"
        table.add_row(name, shown, info.licence, info.distribution, "yes")
        if name == "advbench":
            for split in ds.SPLITS:
                n = len(ds.load_prompt_dataset(f"advbench:{split}"))
                table.add_row(f"advbench:{split}", str(n), info.licence, info.distribution, "yes")
    stdout.print(table)
    for hint in missing.values():
        stdout.print(f"install missing data with: {hint}")
