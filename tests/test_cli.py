"""The command line's lazy command table: it lists every command without importing torch, and each entry
builds the real command."""

import inspect
import subprocess
import sys

import pytest

from safetyheads.cli import COMMANDS, load_command, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_summary_is_the_command_s_own_help(name):
    command = load_command(name)
    assert command.name == name
    assert " ".join(inspect.cleandoc(command.help).split("\n\n")[0].split()) == COMMANDS[name][2]


def test_help_lists_every_command_without_importing_torch():
    code = (
        "import sys\nfrom safetyheads.cli import main\nrc = main(['--help'])\n"
        "print('RC', rc, 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("RC 0 False False")
    for name in COMMANDS:
        assert f" {name} " in out


def test_commands_run_through_the_lazy_table(capsys):
    assert main(["datasets"]) == 0
    assert "advbench:evaluation" in capsys.readouterr().out
    assert main(["organism", "--help"]) == 0
    assert "build" in capsys.readouterr().out


def test_usage_errors_are_one_message_and_exit_code_2(capsys):
    assert main(["shipz"]) == 2
    assert "No such command 'shipz'. Did you mean 'ships'?" in capsys.readouterr().err
    assert main(["compare"]) == 2
    assert "Missing argument" in capsys.readouterr().err


def test_result_tables_fit_an_80_column_terminal_without_cutting_cells():
    from rich.console import Console

    from safetyheads.cli.common import ASR_COLUMNS, asr_cells, list_cell, results_table

    summary = {"n": 40, "refused": 0.15, "complied": 0.8, "broken": 0.05}
    summary |= {"refused_ci": [0.05, 0.275], "complied_ci": [0.675, 0.925], "broken_ci": [0.0, 0.125]}
    heads = ["5-6", "5-7", "5-8", "7-0", "7-1", "7-2", "12-6", "12-7", "12-8"]
    columns = ("ablation", *ASR_COLUMNS, "arc_easy", "boolq", "mean acc", "units")
    table = results_table("qkv-check", columns, lists=["units"])
    table.add_row("ua-k", *asr_cells(summary), "0.500", "0.275", "0.388", list_cell(heads))
    console = Console(width=80, record=True)
    console.print(table)
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    for cell in ("[67.5-92.5]", "80.0%", "15.0%", "5.0%", "0.388", "broken", "arc_easy"):
        assert cell in text
    assert all(h in text for h in heads) and text.count("\n") > 5  # the head list wrapped over several lines
