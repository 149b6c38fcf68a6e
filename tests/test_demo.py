"""``safetyheads demo`` end to end on two tiny models: every artifact, and a summary that matches them."""

import json

import pytest
from models import save_tiny

from safetyheads.cli import main
from safetyheads.scores.compare import read_run, top_k
from safetyheads.study.demo import DemoSettings
from safetyheads.types import SafetyHeadsError


def small_demo(tmp_path, *options: str) -> tuple[list[str], object]:
    """The demo's command line on two tiny models (tuned and base), at the smallest sizes, and its run directory."""
    tuned = save_tiny("llama", tmp_path / "tuned", seed=0)
    base = save_tiny("llama", tmp_path / "base", seed=1)
    out = tmp_path / "run"
    argv = ["demo", "--model", tuned, "--base-model", base, "--out", str(out), "--prompts", "2", "--steps", "2",
            "--eval-limit", "2", "--help-limit", "2", "--max-new-tokens", "3", "--random-draws", "2",
            "--pool", "6", "--direction-val", "2", "--direction-max-kl", "100", *options]  # fmt: skip
    return argv, out


def test_demo_writes_every_condition_and_a_consistent_summary(tmp_path):
    argv, out = small_demo(tmp_path, "--sc-variants", "--contrastive", "--help-tasks", "arc_easy,boolq")
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    names = [c["name"] for c in summary["conditions"]]
    assert names == ["base", "sahara", "contrastive", "untune", "sahara_sc", "contrastive_sc", "direction", "random1",
                     "random2"]  # fmt: skip
    groups = summary["groups"]
    assert len(groups["sahara"]) == len(groups["contrastive"]) == len(groups["untune"]) == 2
    found = {*groups["sahara"], *groups["contrastive"], *groups["untune"]}
    assert not ({*groups["random1"], *groups["random2"]} & found)
    assert json.loads((out / "sahara_untune" / "sahara.json").read_text())["objective"]["reward"] == "untuning"
    direction = json.loads((out / "direction" / "direction.json").read_text())
    assert [r["layer"] for r in direction["layers"]] == [0, 1]
    for c in summary["conditions"]:
        folder = out / f"eval_{c['name']}"
        saved = json.loads((folder / "eval_summary.json").read_text())
        assert c["complied"] == saved["complied"] and c["refused"] == saved["refused"] and c["n"] == 2
        assert sorted(saved["heads"]) == sorted(groups.get(c["name"].removesuffix("_sc"), []))
        assert (c["ablation"] == "sc") == c["name"].endswith("_sc")
        assert saved["judge"] == "topical"  # the default judge, never the paper's keyword judge
        assert c["outcomes"] == [
            r["outcome"] for r in map(json.loads, (folder / "eval.jsonl").read_text().splitlines())
        ]
        if c["name"] == "direction":
            assert saved["direction"]["layer"] == direction["layer"] and c["ablation"].startswith("direction")
        if c["name"].endswith("_sc") or c["name"].startswith("random"):  # compared on the complied share only
            assert c["helpfulness"] == {} and not (out / f"helpfulness_{c['name']}").exists()
            continue
        helpful = json.loads((out / f"helpfulness_{c['name']}" / "helpfulness.json").read_text())
        assert c["helpfulness"] == {t: helpful[t]["accuracy"] for t in ("arc_easy", "boolq")}
        assert "base" not in helpful  # each condition is scored once; the base row is the unablated model
        assert ("damage" in helpful) == (c["name"] != "base")  # KL on harmless text, for every intervention
        if c["name"] != "base":
            assert c["damage"] == {k: v["kl"] for k, v in helpful["damage"].items()}
    assert summary["overlap"]["n_heads"] == 12 and (out / "compare" / "compare.json").exists()
    assert (out / "report.html").exists() and (out / "summary.md").exists()
    assert set(summary["finding"]["groups"]) == {"sahara", "contrastive", "untune", "sahara_sc", "contrastive_sc",
                                                 "direction"}  # fmt: skip
    assert summary["finding"]["groups"]["sahara_sc"]["helpfulness_within_5_points"] is None
    assert summary["finding"]["n_random_groups"] == 2 and "headline" in summary
    for group, column in (("sahara", "kl_mean"), ("contrastive", "mean")):  # each searched its score's top 6
        pool = {str(h) for h in top_k(read_run(out / "ships", column).values(), 6)}
        assert set(groups[group]) <= pool
    assert main(argv) == 0  # a second run resumes every step from the run directory


def test_demo_settings_refuse_an_unknown_task_before_any_work():
    with pytest.raises(SafetyHeadsError, match="unknown task 'nope'"):
        DemoSettings(help_tasks="arc_easy,nope")
    default = DemoSettings()
    assert default.help_tasks == "arc_easy" and not default.sc_variants and not default.contrastive
    assert default.n_stages == 9 and DemoSettings(contrastive=True).n_stages == 10


def test_the_default_demo_leaves_out_what_its_options_add(tmp_path):
    argv, out = small_demo(tmp_path)
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [c["name"] for c in summary["conditions"]] == ["base", "sahara", "untune", "direction", "random1", "random2"]
    assert not (out / "sahara_contrastive").exists() and not (out / "ships" / "ships_harmless.jsonl").exists()
    for name in ("base", "sahara", "untune", "direction"):
        assert set(json.loads((out / f"helpfulness_{name}" / "helpfulness.json").read_text())) <= {"arc_easy", "damage"}
    assert "BoolQ" not in (out / "summary.md").read_text().splitlines()[0]
    pool = {str(h) for h in top_k(read_run(out / "ships", "kl_mean").values(), 6)}  # a plain run's mean
    assert set(summary["groups"]["sahara"]) <= pool
