"""The ``safetyheads`` command line. Each area's commands live in ``safetyheads.cli``.

The command modules import torch and transformers, which take seconds. ``LazyCommands`` lists the commands
from the table below and imports a command's module only when that command runs (or shows its own
``--help``), so ``safetyheads --help`` answers at once.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import typer
from typer.core import TyperCommand, TyperGroup

from safetyheads.types import SafetyHeadsError

# name: (module in safetyheads.cli, attribute: a command function or a Typer app, one-line summary)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "ships": (
        "sweeps",
        "ships",
        "Score every head (or --heads) with Ships, KL(p_base || p_ablated), for each prompt (or --score).",
    ),
    "sahara": (
        "sweeps",
        "sahara_cmd",
        "Greedy search for the head group that moves the dataset's final-state subspace most (Sahara); or --beam K.",
    ),
    "report": (
        "report",
        "report",
        "Write report.html: Ships heatmap, top heads, Sahara steps, ASR, helpfulness, settings and provenance.",
    ),
    "datasets": (
        "data",
        "datasets",
        "List the built-in datasets (read from installed packages) with row counts and licences.",
    ),
    "eval": (
        "evaluate",
        "eval_cmd",
        "Generate answers with --heads ablated (none: the plain model); shares refused, complied (ASR) and broken.",
    ),
    "judge": (
        "evaluate",
        "judge_cmd",
        "Judge answers already generated (any JSONL with prompt and response) with any judge; no regeneration.",
    ),
    "judge-agreement": (
        "evaluate",
        "agreement_cmd",
        "Each judge against the hand-labelled gold set: confusion matrix, agreement, precision and recall.",
    ),
    "helpfulness": (
        "evaluate",
        "helpfulness_cmd",
        "Zero-shot multiple-choice accuracy (lm-eval-harness style), ablated and base when --heads are given.",
    ),
    "calibrate": (
        "evaluate",
        "calibrate_cmd",
        "Measure answer NLLs of fluent, token-shuffled and word-salad text under a model (how coherence separates).",
    ),
    "direction": (
        "direction",
        "direction_cmd",
        "The refusal direction (difference of means after every layer), its layer chosen on held-apart prompts.",
    ),
    "ablate": (
        "surgery",
        "ablate",
        "Bake an ablation (heads, or a refusal direction) into the weights and save the model.",
    ),
    "compare": (
        "analysis",
        "compare_cmd",
        "Do two runs find the same safety heads? Jaccard@k of the top-k heads and Spearman of the scores.",
    ),
    "swap": (
        "analysis",
        "swap_cmd",
        "Save ALIGNED with every layer's attention (or MLP) from BASE, and measure its ASR next to ALIGNED's.",
    ),
    "qkv-check": (
        "analysis",
        "qkv_check_cmd",
        "ASR and helpfulness of one head group under ua-q, ua-k, sc and mean (and unablated; with --direction, the "
        "refusal direction), in one table.",
    ),
    "organism": ("organism", "app", "The safety-tuned model organism (smollm2-135m-safety)."),
    "demo": (
        "demo",
        "demo",
        "Find safety heads in the safety-tuned model and measure what ablating them does, against controls.",
    ),
}


# click's base class of usage errors, taken from typer's own class: recent typer releases bundle their own click
CLICK_ERROR = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException")


def load_command(name: str) -> TyperCommand | TyperGroup:
    """Import a command's module and build its click command (a group for a Typer app)."""
    module, attribute, _summary = COMMANDS[name]
    target = getattr(importlib.import_module(f"safetyheads.cli.{module}"), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyCommands(TyperGroup):
    """A group that lists its commands from ``COMMANDS`` and imports one only when it is used."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._listing = False
        self._loaded: set[str] = set()
        for name, (_module, _attribute, summary) in COMMANDS.items():
            self.commands[name] = TyperCommand(name=name, help=summary)  # a stand-in until the command is used

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in self.commands or self._listing or cmd_name in self._loaded:
            return self.commands.get(cmd_name)
        self.commands[cmd_name] = load_command(cmd_name)
        self._loaded.add(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx, formatter) -> None:
        self._listing = True  # the list of commands needs only their summaries
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="safetyheads",
    cls=LazyCommands,
    help="Find, ablate and evaluate the attention heads that carry an LLM's safety behaviour.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:  # the group itself takes no options; its help is the Typer's
    pass


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors (``SafetyHeadsError``, a missing file, a usage error) become one line on stderr and
    exit code 2; anything else is an internal failure: its traceback, a line saying so, and exit code 1."""
    try:
        app(args=argv, standalone_mode=False)
    except SafetyHeadsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:  # a path the user gave
        print(f"error: {err}", file=sys.stderr)
        return 2
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except CLICK_ERROR as err:  # usage errors
        err.show()
        return 2
    except Exception as err:  # noqa: BLE001 - every other failure is ours: show where it happened
        traceback.print_exc()
        print(f"internal error ({type(err).__name__}): the traceback is above; please report it", file=sys.stderr)
        return 1
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
