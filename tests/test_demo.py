"""``safetyheads demo`` end to end on two tiny models: every artifact, and a summary that matches them."""

import json

from models import save_tiny

from safetyheads.cli import main
from safetyheads.compare import read_run, top_k


def test_demo_writes_every_condition_and_a_consistent_summary(tmp_path):
    tuned = save_tiny("llama", tmp_path / "tuned", seed=0)
    base = save_tiny("llama", tmp_path / "base", seed=1)
    out = tmp_path / "run"
    argv = ["demo", "--model", tuned, "--base-model", base, "--out", str(out), "--prompts", "2", "--steps", "2",
            "--eval-limit", "2", "--help-limit", "2", "--max-new-tokens", "3", "--random-draws", "2",
            "--pool", "6"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    names = [c["name"] for c in summary["conditions"]]
    assert names == ["base", "sahara", "contrastive", "sahara_sc", "contrastive_sc", "random1", "random2"]
    groups = summary["groups"]
    assert len(groups["sahara"]) == len(groups["contrastive"]) == 2
    assert not ({*groups["random1"], *groups["random2"]} & {*groups["sahara"], *groups["contrastive"]})
    for c in summary["conditions"]:
        folder = out / f"eval_{c['name']}"
        saved = json.loads((folder / "eval_summary.json").read_text())
        assert c["complied"] == saved["complied"] and c["refused"] == saved["refused"] and c["n"] == 2
        assert sorted(saved["heads"]) == sorted(groups.get(c["name"].removesuffix("_sc"), []))
        assert (c["ablation"] == "sc") == c["name"].endswith("_sc")
        assert saved["judge"] == "topical"  # the default judge, never the paper's keyword judge
        if c["name"].endswith("_sc"):  # the sc variants are compared on the complied share only
            assert c["helpfulness"] == {} and not (out / f"helpfulness_{c['name']}").exists()
            continue
        helpful = json.loads((out / f"helpfulness_{c['name']}" / "helpfulness.json").read_text())
        assert c["helpfulness"] == {t: helpful[t]["accuracy"] for t in ("arc_easy", "boolq")}
        assert "base" not in helpful  # each condition is scored once; the base row is the unablated model
    assert summary["overlap"]["n_heads"] == 12 and (out / "compare" / "compare.json").exists()
    assert (out / "report.html").exists() and (out / "summary.md").exists()
    assert set(summary["finding"]["groups"]) == {"sahara", "contrastive", "sahara_sc", "contrastive_sc"}
    assert summary["finding"]["groups"]["sahara_sc"]["helpfulness_within_5_points"] is None
    for group, column in (("sahara", "kl_mean"), ("contrastive", "mean")):  # each searched its score's top 6
        pool = {str(h) for h in top_k(read_run(out / "ships", column).values(), 6)}
        assert set(groups[group]) <= pool
    assert main(argv) == 0  # a second run resumes every step from the run directory
