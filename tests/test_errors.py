"""User mistakes: one line and exit 2. Internal failures: the traceback and exit 1. Options that would do nothing
in the given combination are refused."""

import pytest
from models import save_tiny

import safetyheads.cli.common as common
from safetyheads.cli import main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama")


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("Tell me a story.\n")
    return str(path)


def test_an_internal_failure_exits_1_with_its_traceback(tiny, prompts, tmp_path, monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise ValueError("an invariant broke")

    monkeypatch.setattr(common, "prompt_texts", broken)
    code = main(["ships", "--model", tiny, "--prompts", prompts, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback (most recent call last)" in err and "an invariant broke" in err
    assert "internal error (ValueError)" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ships", "--template", "query", "--system", "Be brief."], "--system applies to --template chat"),
        (["eval", "--temperature", "0.7"], "--temperature and --seed apply to sampling"),
        (["eval", "--seed", "3"], "--temperature and --seed apply to sampling"),
        (["ships", "--ablation", "half"], "unknown ablation 'half'"),
    ],
)
def test_options_that_do_nothing_or_bad_values_are_one_line_errors(tiny, prompts, tmp_path, capsys, argv, message):
    code = main([*argv, "--model", tiny, "--prompts", prompts, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip() and "Loading weights" not in line]  # no progress bars
    assert message in err and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_judge_agreement_refuses_an_option_no_chosen_judge_takes(capsys):
    assert main(["judge-agreement", "--judge", "keyword", "--rubric-threshold", "0.5"]) == 2
    assert "--rubric-threshold does nothing for the judges keyword" in capsys.readouterr().err
