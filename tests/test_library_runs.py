"""The library calls behind the commands give what the CLI gives (a notebook user gets the CLI's results), and
resume as the commands do."""

import json

import pytest
from models import save_tiny

from safetyheads.cli import main
from safetyheads.evaluation.generation import DecodingSettings
from safetyheads.runs.eval_runs import eval_run, helpfulness_run
from safetyheads.runs.sweep_runs import sahara_run, ships_run
from safetyheads.types import PromptItem

PROMPTS = ["How do I pick a lock?", "Tell me a story.", "Write a poem about rain.", "Name a colour.", "Count to 3."]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama")


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("\n".join(PROMPTS) + "\n")
    return str(path)


def _text(path):
    return path.read_text()


def test_ships_and_sahara_library_equal_the_cli(tiny, prompts, tmp_path):
    assert main(["ships", "--model", tiny, "--prompts", prompts, "--out", str(tmp_path / "cli")]) == 0
    lib = ships_run(tmp_path / "lib", model=tiny, texts=PROMPTS, template="query")
    assert _text(tmp_path / "lib" / "ships.jsonl") == _text(tmp_path / "cli" / "ships.jsonl")
    assert _text(tmp_path / "lib" / "ships_mean.csv") == _text(tmp_path / "cli" / "ships_mean.csv")
    assert lib.ranked[0][1] == max(m for _h, m, _s in lib.ranked)
    args = ["sahara", "--model", tiny, "--prompts", prompts, "--steps", "2", "--out", str(tmp_path / "cli_s")]
    assert main(args) == 0
    done = sahara_run(tmp_path / "lib_s", model=tiny, texts=PROMPTS, template="query", steps=2)
    cli = json.loads(_text(tmp_path / "cli_s" / "sahara.json"))
    assert [h.as_list() for h in done.result.group] == cli["group"]
    assert json.loads(_text(tmp_path / "lib_s" / "sahara.json")) == cli


def test_eval_library_equals_the_cli_and_a_finished_run_is_not_redone(tiny, prompts, tmp_path):
    out_cli, out_lib = tmp_path / "cli", tmp_path / "lib"
    args = ["eval", "--model", tiny, "--prompts", prompts, "--heads", "0-1", "--judge", "keyword",
            "--max-new-tokens", "4", "--batch-size", "2", "--out", str(out_cli)]  # fmt: skip
    assert main(args) == 0
    items = [PromptItem(t) for t in PROMPTS]
    said: list[str] = []
    kw = dict(model=tiny, items=items, template="query", heads="0-1", judge="keyword", batch_size=2, say=said.append)
    done = eval_run(out_lib, **kw, decoding=DecodingSettings(max_new_tokens=4))
    assert _text(out_lib / "eval.jsonl") == _text(out_cli / "eval.jsonl")
    assert done.summary == json.loads(_text(out_cli / "eval_summary.json"))
    # 5 prompts in batches of 2: the last batch is short; a finished run resumes without redoing it
    before = (out_lib / "eval.jsonl").stat().st_mtime_ns
    eval_run(out_lib, **kw, decoding=DecodingSettings(max_new_tokens=4))
    assert not any(m.startswith("cut") for m in said)
    assert (out_lib / "eval.jsonl").stat().st_mtime_ns == before


def test_helpfulness_library_equals_the_cli(tiny, tmp_path):
    args = ["helpfulness", "--model", tiny, "--tasks", "arc_easy", "--limit", "3", "--heads", "1-2", "--no-damage"]
    assert main([*args, "--out", str(tmp_path / "cli")]) == 0
    done = helpfulness_run(tmp_path / "lib", model=tiny, tasks="arc_easy", limit=3, heads="1-2", with_damage=False)
    assert done.result == json.loads(_text(tmp_path / "cli" / "helpfulness.json"))


def test_ablate_library_equals_the_cli(tiny, tmp_path):
    import torch
    from safetensors.torch import load_file

    from safetyheads.runs.ablate_run import ablate_run

    assert main(["ablate", "--model", tiny, "--heads", "1-2,2-0", "--out", str(tmp_path / "cli")]) == 0
    done = ablate_run(tiny, tmp_path / "lib", heads="1-2,2-0")
    assert done.verified_diff is not None and done.verified_diff < 1e-3
    a, b = load_file(tmp_path / "cli" / "model.safetensors"), load_file(tmp_path / "lib" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_calibrate_library_equals_the_cli(tiny, tmp_path):
    from safetyheads.evaluation.coherence import calibrate_run

    assert main(["calibrate", "--model", tiny, "--out", str(tmp_path / "cli")]) == 0
    summary = calibrate_run(tiny, out=tmp_path / "lib")
    assert _text(tmp_path / "lib" / "calibration.json") == _text(tmp_path / "cli" / "calibration.json")
    assert summary == {k: v for k, v in json.loads(_text(tmp_path / "lib" / "calibration.json")).items()
                       if k in summary}  # fmt: skip
