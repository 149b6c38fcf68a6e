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
