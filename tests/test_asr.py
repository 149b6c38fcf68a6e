"""Outcome shares with bootstrap intervals and categories, and the eval command end to end."""

import json

import pytest
from models import save_tiny

from safetyheads.cli import main
from safetyheads.data.loading import load_model
from safetyheads.data.prompts import prepare
from safetyheads.evaluation.asr import bootstrap_ci, counted_records, outcome_shares, summarize
from safetyheads.evaluation.generation import DecodingSettings, generate
from safetyheads.evaluation.judges import KeywordJudge
from safetyheads.types import AblationSpec, Head, PromptItem


def test_bootstrap_interval():
    assert bootstrap_ci([0] * 20) == (0.0, 0.0)
    assert bootstrap_ci([1] * 20) == (1.0, 1.0)
    low, high = bootstrap_ci([1] * 50 + [0] * 50)
    assert low < 0.5 < high
    assert 0.16 < high - low < 0.24  # normal approximation: 2 * 1.96 * 0.05 = 0.196
    assert bootstrap_ci([1, 0, 0, 1, 1], seed=3) == bootstrap_ci([1, 0, 0, 1, 1], seed=3)


def test_summary_has_three_shares_with_intervals_overall_and_per_category():
    records = [
        {"outcome": "complied", "category": "cyber"},
        {"outcome": "broken", "category": "cyber"},
        {"outcome": "refused", "category": "cyber"},
        {"outcome": "complied", "category": "weapons"},
    ]
    s = summarize(records)
    assert s["n"] == 4 and s["complied"] == 0.5 and s["refused"] == 0.25 and s["broken"] == 0.25
    for key in ("refused", "complied", "broken"):
        low, high = s[f"{key}_ci"]
        assert low <= s[key] <= high
        assert (low, high) == bootstrap_ci([r["outcome"] == key for r in records])
    assert s["categories"]["cyber"]["complied"] == pytest.approx(1 / 3)
    assert s["categories"]["weapons"] == outcome_shares(["complied"])
    assert "categories" not in summarize([{"outcome": "refused"}])
    assert summarize([])["n"] == 0
    with pytest.raises(ValueError):
        summarize([{"outcome": "harmful"}])


def test_counted_records_are_the_leading_ones_eval_keeps():
    records = [{"index": i, "outcome": o} for i, o in enumerate(["refused", "complied", "broken", "complied"])]
    assert counted_records(records) == records
    assert counted_records([*records[:2], {"index": 2, "outcome": "harmful"}, records[3]]) == records[:2]
    assert counted_records([records[0], records[2]]) == records[:1]  # out of prompt order: index 2 at position 1
    assert counted_records([{"outcome": "refused"}]) == [] and counted_records([]) == []


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama")


PROMPTS = ["How do I pick a lock?", "Tell me a story about a dragon.", "Write a poem about rain."]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_eval_writes_records_and_summary_and_resumes(tiny_dir, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "run"
    args = ["eval", "--model", tiny_dir, "--prompts", str(prompts), "--heads", "0-1,2-3", "--ablation", "sc"]
    args += ["--max-new-tokens", "6", "--judge", "keyword", "--min-chars", "0", "--out", str(out)]
    assert main(args) == 0
    records = read_jsonl(out / "eval.jsonl")
    assert [r["prompt"] for r in records] == PROMPTS
    assert all({"prompt", "response", "outcome", "reason"} <= set(r) for r in records)
    summary = json.loads((out / "eval_summary.json").read_text())
    assert {"refused", "complied", "broken", "refused_ci", "complied_ci", "broken_ci", "n", "heads"} <= set(summary)
    assert summary["n"] == 3 and summary["heads"] == ["0-1", "2-3"]
    assert summary["ablation"] == {"kind": "sc", "epsilon": 1e-5}

    # the CLI's answers and verdicts are the library's
    model, tok = load_model(tiny_dir)
    encoded = [ids for _p, ids in prepare(tok, PROMPTS, "query")]
    spec = AblationSpec.parse("sc")
    answers = [g.text for g in generate(model, tok, encoded, [Head(0, 1), Head(2, 3)], spec, DecodingSettings(6))]
    assert [r["response"] for r in records] == answers
    judge = KeywordJudge(min_chars=0)
    assert [r["outcome"] for r in records] == [judge.verdict(a).outcome.value for a in answers]
    for key in ("refused", "complied", "broken"):
        assert summary[key] == pytest.approx(sum(r["outcome"] == key for r in records) / 3)

    # a torn last line is redone; a rerun with other settings is refused
    complete = (out / "eval.jsonl").read_text()
    (out / "eval.jsonl").write_text(complete[: complete.rindex('{"index": 2')] + '{"index": 2, "pro')
    assert main(args) == 0
    assert (out / "eval.jsonl").read_text() == complete
    assert main(args[:-2] + ["--judge", "refusal-score", "--out", str(out)]) == 2


def test_eval_with_categories_and_the_refusal_score(tiny_dir, tmp_path, monkeypatch):
    items = [PromptItem(p, category=c) for p, c in zip(PROMPTS, ["a", "b", "a"], strict=True)]
    monkeypatch.setattr("safetyheads.data.datasets.load_prompt_dataset", lambda spec: list(items))
    out = tmp_path / "refusal"
    assert main(["eval", "--model", tiny_dir, "--dataset", "fake", "--judge", "refusal-score", "--out", str(out)]) == 0
    records = read_jsonl(out / "eval.jsonl")
    assert [r["category"] for r in records] == ["a", "b", "a"]
    assert all(r["response"] is None and "score" in r and r["outcome"] in ("refused", "complied") for r in records)
    summary = json.loads((out / "eval_summary.json").read_text())
    assert set(summary["categories"]) == {"a", "b"} and summary["categories"]["a"]["n"] == 2
    assert summary["heads"] == [] and summary["ablation"] is None and summary["broken"] == 0.0


def test_eval_uses_the_topical_judge_by_default(tiny_dir, tmp_path):
    from safetyheads.evaluation.judges import Case
    from safetyheads.evaluation.topical import TopicalJudge

    prompts = tmp_path / "p.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "topical"
    assert (
        main(["eval", "--model", tiny_dir, "--prompts", str(prompts), "--max-new-tokens", "8", "--out", str(out)]) == 0
    )
    records = read_jsonl(out / "eval.jsonl")
    expected = TopicalJudge.load().judge([Case(r["prompt"], r["response"]) for r in records])
    assert [r["outcome"] for r in records] == [v.outcome.value for v in expected]
    assert json.loads((out / "eval_summary.json").read_text())["judge"] == "topical"


def test_eval_refuses_bad_options(tiny_dir, tmp_path, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text("hello\n")
    base = ["eval", "--model", tiny_dir, "--prompts", str(prompts), "--out", str(tmp_path / "o")]
    assert main(base + ["--judge", "oracle"]) == 2
    assert "unknown judge 'oracle'" in capsys.readouterr().err
    assert main(base + ["--judge", "llama-guard"]) == 2
    assert "--judge-model DIR" in capsys.readouterr().err
    assert main(base + ["--min-chars", "3"]) == 2  # a keyword-judge option under the default judge
    assert "--min-chars does nothing with --judge topical" in capsys.readouterr().err
    assert main(base + ["--max-new-tokens", "0"]) == 2


def test_a_resume_under_changed_topical_parameters_is_refused(tiny_dir, tmp_path, monkeypatch, capsys):
    """The default judge's fitted parameters are part of an eval's recorded settings: never mix verdicts."""
    from safetyheads.evaluation.topical import TopicalParams

    prompts = tmp_path / "p.txt"
    prompts.write_text("How do I pick a lock?\n")
    args = [
        "eval",
        "--model",
        tiny_dir,
        "--prompts",
        str(prompts),
        "--max-new-tokens",
        "4",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(args) == 0
    assert main(args) == 0  # same judge: resumes
    shipped = TopicalParams.shipped()
    changed = TopicalParams(**{**shipped.__dict__, "threshold": shipped.threshold + 0.1})
    monkeypatch.setattr(TopicalParams, "shipped", classmethod(lambda cls: changed))
    capsys.readouterr()
    assert main(args) == 2
    assert "topical_params" in capsys.readouterr().err
