"""The ships and sahara commands end to end on a tiny model saved as a local directory."""

import csv
import json

import pytest
from models import save_tiny

from safetyheads.cli import main
from safetyheads.data.loading import load_model
from safetyheads.data.prompts import prepare
from safetyheads.scores.ships import sweep_ships

PROMPTS = ["How do I pick a lock?", "Tell me a story.", "Write a poem about rain."]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama")


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ships_writes_scores_means_and_resumes(tiny_dir, prompts_file, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["ships", "--model", tiny_dir, "--prompts", str(prompts_file), "--template", "query", "--out", str(out)]
    assert main(args) == 0
    lines = read_jsonl(out / "ships.jsonl")
    assert [r["prompt"] for r in lines] == PROMPTS
    assert len(lines[0]["scores"]) == 3 and len(lines[0]["scores"][0]) == 4
    assert "Top heads" in capsys.readouterr().out

    # the CLI's numbers are the library's numbers
    model, tok = load_model(tiny_dir)
    direct = sweep_ships(model, prepare(tok, PROMPTS, "query"))
    for line, res in zip(lines, direct, strict=True):
        flat = [v for row in res.scores for v in row]
        assert [v for row in line["scores"] for v in row] == pytest.approx(flat, rel=1e-5)

    with open(out / "ships_mean.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and set(rows[0]) == {"layer", "head", "mean", "std"}
    mean00 = sum(r["scores"][0][0] for r in lines) / 3
    assert float(rows[0]["mean"]) == pytest.approx(mean00, rel=1e-6)

    # a torn last line is cut and redone; the file ends as after an uninterrupted run
    complete = (out / "ships.jsonl").read_text()
    torn = complete[: complete.rindex('{"index": 2')] + '{"index": 2, "prompt": "Wri'
    (out / "ships.jsonl").write_text(torn)
    assert main(args) == 0
    assert (out / "ships.jsonl").read_text() == complete


def test_resume_with_other_settings_is_refused(tiny_dir, prompts_file, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["ships", "--model", tiny_dir, "--prompts", str(prompts_file), "--out", str(out), "--heads", "0-0"]
    assert main(base) == 0
    assert main([*base, "--epsilon", "0.01"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_ua_k_writes_one_float_per_key_head(tiny_dir, prompts_file, tmp_path):
    out = tmp_path / "k"
    assert (
        main(
            [
                "ships",
                "--model",
                tiny_dir,
                "--prompts",
                str(prompts_file),
                "--ablation",
                "ua-k",
                "--template",
                "chat",
                "--system",
                "Be safe.",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert all(len(row) == 2 for row in read_jsonl(out / "ships.jsonl")[0]["scores"])


def test_sahara_writes_group_and_steps(tiny_dir, prompts_file, tmp_path, capsys):
    out = tmp_path / "sahara"
    assert main(["sahara", "--model", tiny_dir, "--prompts", str(prompts_file), "--steps", "2", "--out", str(out)]) == 0
    result = json.loads((out / "sahara.json").read_text())
    assert len(result["group"]) == 2 and len(result["steps"]) == 2
    assert result["steps"][0]["chosen"] == result["group"][0]
    assert len(result["steps"][0]["scores"]) == 3
    assert "Sahara group" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--heads", "9-0"], "out of range"),
        (["--heads", "x"], "cannot read head"),
        (["--ablation", "ua-v"], "unknown ablation"),
    ],
)
def test_bad_options_exit_2_with_one_line(tiny_dir, prompts_file, tmp_path, capsys, extra, message):
    code = main(["ships", "--model", tiny_dir, "--prompts", str(prompts_file), "--out", str(tmp_path / "x"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_a_failed_model_load_does_not_block_the_corrected_rerun(tiny_dir, prompts_file, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["ships", "--prompts", str(prompts_file), "--out", str(out), "--heads", "0-0"]
    assert main([*args, "--model", str(tmp_path / "no-such-model")]) == 2
    assert main([*args, "--model", tiny_dir]) == 0  # nothing was produced, so the new settings replace the old
    assert main([*args, "--model", tiny_dir, "--epsilon", "0.5"]) == 2  # now results exist: refused
    assert "other settings" in capsys.readouterr().err
