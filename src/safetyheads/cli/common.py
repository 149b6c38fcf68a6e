"""Options and helpers shared by CLI commands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from safetyheads.data.loading import load_shared
from safetyheads.data.prompts import Template, first_n, prepare, read_prompts
from safetyheads.types import DEFAULT_EPSILON, PromptItem, SafetyHeadsError

console = Console(stderr=True)

Model = Annotated[str, typer.Option("--model", "-m", help="Local model dir, .gguf file, built-in name or hub id.")]
Prompts = Annotated[Path | None, typer.Option("--prompts", help="Prompts file: .txt (one per line), .csv or .jsonl.")]
Dataset = Annotated[
    str | None,
    typer.Option("--dataset", help="Built-in prompt set, e.g. advbench or advbench:evaluation (see `datasets`)."),
]
Column = Annotated[str | None, typer.Option("--column", help="Text column of a .csv/.jsonl prompts file.")]
TemplateOpt = Annotated[Template, typer.Option("--template", help="raw, query (the paper's) or chat.")]
System = Annotated[str | None, typer.Option("--system", help="System message for --template chat.")]
Ablation = Annotated[str, typer.Option("--ablation", help="ua-q, ua-k, sc, mean or zero.")]
Epsilon = Annotated[float, typer.Option("--epsilon", help="Scaling factor for ua-q, ua-k and sc.")]
Heads = Annotated[str | None, typer.Option("--heads", help="Heads, e.g. '2-26,3.8,L4H1'.")]
Limit = Annotated[
    int | None,
    typer.Option("--limit", help="Use only the first N prompts (at least 1 and at most what the set holds)."),
]
BatchSize = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        min=1,
        help="Rows per forward. Default: ships and sahara size it to memory (CPU: a token budget, CUDA: free "
        "memory); eval generates 64 prompts at a time on a CPU, 32 elsewhere; helpfulness uses 32. A resume must "
        "use the same.",
    ),
]
Device = Annotated[str, typer.Option("--device", help="cpu or cuda.")]
Dtype = Annotated[str, typer.Option("--dtype", help="float32 or bfloat16.")]
DirectionDir = Annotated[
    Path | None,
    typer.Option("--direction", help="Also ablate this refusal direction (a directory made by `direction`)."),
]
Out = Annotated[Path, typer.Option("--out", help="Output directory (a rerun with it resumes).")]

DEFAULT_TEMPLATE = Template.QUERY
DEFAULT_EPS = DEFAULT_EPSILON


def load(model: str, device: str, dtype: str):
    """The model and tokenizer (one shared copy inside ``loading.shared_models``), with a status line."""
    return load_shared(model, device, dtype, console.status)


def prompt_items(prompts: Path | None, dataset: str | None, column: str | None, limit: int | None) -> list[PromptItem]:
    """The prompts of ``--prompts FILE`` or ``--dataset NAME[:split]``."""
    if (prompts is None) == (dataset is None):
        raise SafetyHeadsError("give the prompts with exactly one of --prompts FILE or --dataset NAME")
    if dataset is not None:
        from safetyheads.data.datasets import load_prompt_dataset

        return first_n(load_prompt_dataset(dataset), limit, dataset)
    return [PromptItem(t) for t in read_prompts(prompts, column=column, limit=limit)]


def prompt_texts(prompts: Path | None, dataset: str | None, column: str | None, limit: int | None) -> list[str]:
    return [item.text for item in prompt_items(prompts, dataset, column, limit)]


def encoded_prompts(tokenizer, texts: list[str], template: Template, system: str | None):
    return prepare(tokenizer, texts, template, system)


ASR_COLUMNS = ("n", "refused", "complied (ASR)", "broken")  # each share with its 95% interval


def results_table(
    title: str, columns: Sequence[str], text: int = 1, lists: Sequence[str] = (), caption: str | None = None
) -> Table:
    """A compact terminal table: a rule under the header, one space between columns, headers broken at their
    spaces. The first ``text`` columns are left-aligned, the others (numbers) right-aligned. Cells never wrap,
    except in the columns named in ``lists``: lists of heads written by ``list_cell``, which a narrow terminal
    wraps at their commas instead of cutting them short."""
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    for i, col in enumerate(columns):
        table.add_column(
            col.replace(" ", "\n"), justify="left" if i < text or col in lists else "right", no_wrap=col not in lists
        )
    return table


def list_cell(items) -> str:
    """Heads (or any names) for a table cell: ", "-separated, so the cell can wrap; "-" when there are none."""
    return ", ".join(map(str, items)) or "-"


def share_cell(share: float | None, ci: list[float] | None) -> str:
    """A share over its 95% interval, e.g. "15.0%" over "[5.0-30.0]" (two lines, so tables stay narrow)."""
    if share is None:
        return "-"
    return f"{share:.1%}" + (f"\n[{100 * ci[0]:.1f}-{100 * ci[1]:.1f}]" if ci else "")


def asr_cells(summary: dict) -> list[str]:
    """The ``ASR_COLUMNS`` cells of an outcome summary (``asr.summarize``)."""
    if not summary.get("n"):
        return ["0", "-", "-", "-"]
    shares = [share_cell(summary[key], summary.get(f"{key}_ci")) for key in ("refused", "complied", "broken")]
    return [str(summary["n"]), *shares]


def load_direction(path: Path | None):
    """The refusal direction of ``--direction DIR`` (None when not given)."""
    if path is None:
        return None
    from safetyheads.core.direction import RefusalDirection

    return RefusalDirection.load(path)


# ---------------------------------------------------------------------------------------------- backends

BackendOpt = Annotated[
    str, typer.Option("--backend", help="local (this process) or ray (spread over Ray workers, pip install ray).")
]
AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="Ray cluster to join (auto, or head-ip:6379); default: start a local one."),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", help="Ray workers, one model copy each (default: GPUs / --gpus-per-worker, or 2 on CPU)."
    ),
]
GpusPerWorkerOpt = Annotated[
    float | None,
    typer.Option(
        "--gpus-per-worker",
        help="GPUs per Ray worker (default 1 with --device cuda); above 1 the model is spread with device_map=auto.",
    ),
]
