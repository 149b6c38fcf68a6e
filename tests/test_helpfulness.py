"""Helpfulness: multiple-choice accuracy by log-likelihood, checked against per-choice sums computed by hand."""

import json
import sys
import types

import pytest
import torch
from models import save_tiny, tiny_model, tiny_tokenizer

from safetyheads.cli import main
from safetyheads.core.ablation import ablated
from safetyheads.data.loading import load_model
from safetyheads.evaluation.damage import harmless_damage
from safetyheads.evaluation.helpfulness import choice_loglikelihoods, evaluate_mc, helpfulness, score_task
from safetyheads.scores.reference import naive_ablation
from safetyheads.types import AblationSpec, Head, MCItem, SafetyHeadsError

ITEMS = [
    MCItem("Question: What colour is the sky?\nAnswer:", (" blue", " green", " a loud noise"), 0),
    MCItem("Question: Is fire hot?\nAnswer:", (" no", " yes"), 1),
    MCItem("The cat sat on the", (" mat", " moon"), 0),
    MCItem("", ("The trophy did not fit in the case.", "The case did not fit in the trophy."), 0),
    MCItem("2 + 2 =", (" 4", " 5", " 22", " four"), 3),
    MCItem("", (" was too big.", " was too big."), 0, contexts=("The trophy did not fit: the trophy", "The case")),
]


def by_hand(model, tok, item):
    """Summed log-likelihood of each choice: one plain forward per (context + choice), no batching."""
    out = []
    for i, choice in enumerate(item.choices):
        context = item.contexts[i] if item.contexts else item.context
        ctx = tok(context).input_ids if context else [tok.pad_token_id]  # no BOS/EOS: padding starts it
        cont = tok(choice).input_ids
        with torch.no_grad():
            lp = model(input_ids=torch.tensor([ctx + cont])).logits[0].double().log_softmax(-1)
        out.append(sum(float(lp[len(ctx) - 1 + i, t]) for i, t in enumerate(cont)))
    return out


def expected_accuracy(model, tok, items):
    lls = [by_hand(model, tok, item) for item in items]
    acc = sum(max(range(len(x)), key=lambda i: (x[i], -i)) == it.gold for x, it in zip(lls, items, strict=True))
    chars = lambda c: len(c) - c.startswith(" ")  # noqa: E731  lm-eval divides by the choice without its delimiter
    norm = [[v / chars(c) for v, c in zip(x, it.choices, strict=True)] for x, it in zip(lls, items, strict=True)]
    acc_norm = sum(max(range(len(x)), key=lambda i: (x[i], -i)) == it.gold for x, it in zip(norm, items, strict=True))
    return lls, acc / len(items), acc_norm / len(items)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_accuracy_matches_per_choice_loglikelihoods_computed_by_hand(family):
    model, tok = tiny_model(family), tiny_tokenizer()
    lls, acc, acc_norm = expected_accuracy(model, tok, ITEMS)
    got = choice_loglikelihoods(model, tok, ITEMS, batch_size=3)
    for a, b in zip(got, lls, strict=True):
        assert a == pytest.approx(b, abs=1e-4)
    score = evaluate_mc(model, tok, ITEMS, batch_size=4)
    assert score.n == 6 and score.accuracy == pytest.approx(acc) and score.accuracy_norm == pytest.approx(acc_norm)


def test_ablated_accuracy_matches_the_naive_reference_ablation():
    model, tok = tiny_model("qwen2"), tiny_tokenizer()
    heads, spec = [Head(0, 1), Head(1, 3)], AblationSpec.parse("ua-q")
    ablated = evaluate_mc(model, tok, ITEMS, heads, spec)
    base = evaluate_mc(model, tok, ITEMS)
    reference = tiny_model("qwen2")
    with naive_ablation(reference, heads, spec):
        lls, acc, _ = expected_accuracy(reference, tok, ITEMS)
    assert ablated.accuracy == pytest.approx(acc)
    for a, b in zip(ablated.loglikelihoods, lls, strict=True):
        assert a == pytest.approx(b, abs=1e-4)
    flat = lambda lls: [v for row in lls for v in row]  # noqa: E731
    assert flat(ablated.loglikelihoods) != pytest.approx(flat(base.loglikelihoods), abs=1e-3)


def test_helpfulness_reports_ablated_and_base():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    tasks = {"t1": ITEMS[:3], "t2": ITEMS[3:]}
    result = helpfulness(model, tok, ["t1", "t2"], heads=[Head(0, 0)], loader=lambda name, limit: tasks[name])
    assert set(result) == {"t1", "t2", "base"}
    assert result["t1"]["n"] == 3 and result["base"]["t2"]["n"] == 3
    assert result["base"]["t1"]["accuracy"] == evaluate_mc(model, tok, ITEMS[:3]).accuracy
    assert set(helpfulness(model, tok, ["t1"], loader=lambda name, limit: tasks[name])) == {"t1"}


def test_bad_items_are_refused():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    with pytest.raises(SafetyHeadsError, match="out of range"):
        evaluate_mc(model, tok, [MCItem("Q", (" a", " b"), 2)])
    with pytest.raises(SafetyHeadsError, match="no choices"):
        evaluate_mc(model, tok, [MCItem("Q", (), 0)])
    with pytest.raises(SafetyHeadsError, match="1 contexts for 2 choices"):
        evaluate_mc(model, tok, [MCItem("", (" a", " b"), 0, contexts=("Q",))])


def test_helpfulness_command_writes_accuracy_base_and_resumes(tmp_path, monkeypatch):
    tasks = {"boolq": ITEMS[1:2] * 3, "arc_easy": ITEMS[:3]}
    calls = []

    def fake_loader(name, limit=None):
        calls.append(name)
        return tasks[name][:limit]

    monkeypatch.setattr("safetyheads.data.datasets.load_mc_task", fake_loader)
    model_dir = save_tiny("llama", tmp_path / "m")
    out = tmp_path / "help"
    args = ["helpfulness", "--model", model_dir, "--tasks", "boolq,arc_easy", "--limit", "2", "--heads", "0-1"]
    assert main(args + ["--out", str(out)]) == 0
    result = json.loads((out / "helpfulness.json").read_text())
    assert set(result) == {"boolq", "arc_easy", "base", "damage"}
    assert result["boolq"]["n"] == 2 and set(result["boolq"]) >= {"accuracy", "n", "chance", "majority"}
    # harmless damage: the library's numbers for the same ablation
    lm, tk = load_model(model_dir)
    expected = harmless_damage(lm, tk, lambda: ablated(lm, [Head(0, 1)], AblationSpec()))
    assert set(result["damage"]) == {"text", "chat"}
    for name in ("text", "chat"):
        assert result["damage"][name]["kl"] == pytest.approx(expected[name]["kl"], rel=1e-6)
        assert result["damage"][name]["kl"] > 0 and result["damage"][name]["n"] == 32
    assert set(result["base"]) == {"boolq", "arc_easy"}
    model, tok = tiny_model("llama"), tiny_tokenizer()
    assert result["base"]["arc_easy"]["accuracy"] == evaluate_mc(model, tok, ITEMS[:2]).accuracy
    assert main(args + ["--out", str(out)]) == 0  # resumed: nothing recomputed, same file
    assert json.loads((out / "helpfulness.json").read_text()) == result
    assert main(["helpfulness", "--model", model_dir, "--tasks", "nope", "--out", str(tmp_path / "x")]) == 2
    alone = tmp_path / "alone"  # --no-base: the ablated model only, the same numbers
    assert main(args + ["--no-base", "--out", str(alone)]) == 0
    only = json.loads((alone / "helpfulness.json").read_text())
    assert only == {k: v for k, v in result.items() if k != "base"}
    quiet = tmp_path / "quiet"
    assert main(args + ["--no-damage", "--out", str(quiet)]) == 0
    assert "damage" not in json.loads((quiet / "helpfulness.json").read_text())


# ---------------------------------------------------------------------------------------- lm-eval adapter


def test_conditions_on_one_model_share_its_unablated_side(tmp_path, monkeypatch):
    from safetyheads.runs import eval_runs

    tasks = {"arc_easy": ITEMS[:2]}
    monkeypatch.setattr("safetyheads.data.datasets.load_mc_task", lambda name, limit=None: tasks[name][:limit])
    made: list[str] = []
    real_reference, real_mc = eval_runs.reference, eval_runs.evaluate_mc
    monkeypatch.setattr(eval_runs, "reference", lambda *a, **k: made.append("reference") or real_reference(*a, **k))
    monkeypatch.setattr(eval_runs, "evaluate_mc", lambda *a, **k: made.append("mc") or real_mc(*a, **k))
    eval_runs._UNABLATED.clear()
    model_dir = save_tiny("llama", tmp_path / "m")

    def run(out: str, heads: str, model: str = model_dir) -> dict:
        return eval_runs.helpfulness_run(tmp_path / out, model=model, tasks="arc_easy", heads=heads, limit=2).result

    first = run("a", "0-1")
    assert made == ["mc", "mc", "reference"]  # ablated, unablated, damage reference
    second = run("b", "1-2")
    assert made[3:] == ["mc"]  # only the ablated side is new
    eval_runs._UNABLATED.clear()
    alone = run("c", "1-2")  # a fresh process: the same numbers
    assert alone == second and first["base"] == second["base"]
    assert second["damage"]["text"]["kl"] != first["damage"]["text"]["kl"]
    other = save_tiny("llama", tmp_path / "m2", seed=1)  # other weights: measured afresh
    made.clear()
    run("d", "1-2", other)
    assert made == ["mc", "mc", "reference"]


def test_lm_eval_adapter_explains_a_missing_install(monkeypatch):
    from safetyheads.evaluation.lmeval_adapter import ablated_lm

    monkeypatch.setitem(sys.modules, "lm_eval", None)
    monkeypatch.setitem(sys.modules, "lm_eval.models", None)
    monkeypatch.setitem(sys.modules, "lm_eval.models.huggingface", None)
    with pytest.raises(SafetyHeadsError, match=r"safetyheads\[lmeval\]"):
        ablated_lm(tiny_model("llama"), tiny_tokenizer(), [Head(0, 1)])


def test_lm_eval_adapter_ablates_every_request(monkeypatch):
    """With a stand-in for lm-eval's HFLM: each request runs under the ablation, and only then."""
    from safetyheads.evaluation.lmeval_adapter import ablated_lm, run_lm_eval

    class FakeHFLM:
        def __init__(self, pretrained, tokenizer, batch_size=1, **kwargs):
            self.model, self.tokenizer = pretrained, tokenizer

        def _plan(self):
            state = getattr(self.model, "_safetyheads_state", None)
            return None if state is None or state.plan is None else state.plan.rows[0]

        def loglikelihood(self, requests):
            return [self._plan()]

        def generate_until(self, requests):
            return [self._plan()]

    fake_hf = types.ModuleType("lm_eval.models.huggingface")
    fake_hf.HFLM = FakeHFLM
    fake_root = types.ModuleType("lm_eval")
    fake_root.simple_evaluate = lambda model, tasks, limit, num_fewshot: {
        "plan": model.loglikelihood([]),
        "tasks": tasks,
    }
    monkeypatch.setitem(sys.modules, "lm_eval", fake_root)
    monkeypatch.setitem(sys.modules, "lm_eval.models", types.ModuleType("lm_eval.models"))
    monkeypatch.setitem(sys.modules, "lm_eval.models.huggingface", fake_hf)

    model = tiny_model("llama")
    heads = (Head(0, 1), Head(2, 2))
    lm = ablated_lm(model, tiny_tokenizer(), heads, AblationSpec.parse("sc"))
    assert isinstance(lm, FakeHFLM)
    assert lm.loglikelihood([]) == [heads] and lm.generate_until([]) == [heads]
    assert model._safetyheads_state.plan is None  # only during requests
    assert lm.safetyheads_ablation == {"heads": [[0, 1], [2, 2]], "kind": "sc", "epsilon": 1e-5}
    result = run_lm_eval(model, tiny_tokenizer(), ["arc_easy"], heads, limit=5)
    assert result == {"plan": [heads], "tasks": ["arc_easy"]}


def test_real_lm_eval_requests_through_the_adapter_match_our_scoring():
    """lm-eval's own HFLM (the dev extra installs lm-eval) answers log-likelihood requests through ablated_lm:
    with heads ablated they equal safetyheads' per-choice log-likelihoods under the same ablation."""
    pytest.importorskip("lm_eval")
    from lm_eval.api.instance import Instance

    from safetyheads.core.ablation import ablated
    from safetyheads.evaluation.lmeval_adapter import ablated_lm

    model, tok = tiny_model("llama"), tiny_tokenizer()
    tok.eos_token = "\n"  # lm-eval starts an empty context with EOS (so do we, when there is no BOS)
    items = ITEMS
    requests = [
        Instance("loglikelihood", doc={}, arguments=(item.context_of(i), choice), idx=i)
        for item in items
        for i, choice in enumerate(item.choices)
    ]
    heads, spec = [Head(0, 1), Head(1, 3)], AblationSpec.parse("ua-q")
    theirs = [ll for ll, _greedy in ablated_lm(model, tok, heads, spec, batch_size=3).loglikelihood(requests)]
    with ablated(model, heads, spec):
        ours = [v for row in choice_loglikelihoods(model, tok, items) for v in row]
    plain = [v for row in choice_loglikelihoods(model, tok, items) for v in row]
    assert theirs == pytest.approx(ours, abs=1e-4)
    assert theirs != pytest.approx(plain, abs=1e-3)  # the ablation reached lm-eval's forwards


def test_acc_norm_divides_by_the_choice_without_its_delimiter_space():
    # lm-eval: " ab" counts 2 characters, " abcdefgh" 8, so -2.0 / 2 < -6.5 / 8 and the long choice wins;
    # counting the space (3 and 9) would pick the short one
    score = score_task([MCItem("Q:", (" ab", " abcdefgh"), 1)], [[-2.0, -6.5]])
    assert score.accuracy == 0.0 and score.accuracy_norm == 1.0
