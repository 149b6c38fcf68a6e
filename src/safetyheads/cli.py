"""The ``safetyheads`` command line. Each area's commands live in ``safetyheads.commands``."""

from __future__ import annotations

import sys

import typer

from safetyheads.commands import analysis, data, sweeps
from safetyheads.commands import demo as demo_cmds
from safetyheads.commands import evaluate as evaluate_cmds
from safetyheads.commands import organism as organism_cmds
from safetyheads.commands import report as report_cmds
from safetyheads.commands import surgery as surgery_cmds
from safetyheads.types import SafetyHeadsError

app = typer.Typer(
    name="safetyheads",
    help="Find, ablate and evaluate the attention heads that carry an LLM's safety behaviour.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("ships")(sweeps.ships)
app.command("sahara")(sweeps.sahara_cmd)
app.command("report")(report_cmds.report)
app.command("datasets")(data.datasets)
app.command("eval")(evaluate_cmds.eval_cmd)
app.command("helpfulness")(evaluate_cmds.helpfulness_cmd)
app.command("calibrate")(evaluate_cmds.calibrate_cmd)
app.command("ablate")(surgery_cmds.ablate)
app.command("compare")(analysis.compare_cmd)
app.command("swap")(analysis.swap_cmd)
app.command("qkv-check")(analysis.qkv_check_cmd)
app.add_typer(organism_cmds.app, name="organism")
app.command("demo")(demo_cmds.demo)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except SafetyHeadsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except Exception as err:  # click usage errors
        import click

        if isinstance(err, click.ClickException):
            err.show()
            return 2
        raise
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
