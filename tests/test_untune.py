"""The answer-aimed Sahara objective ``untune``: ablations that bring the tuned model back to the untuned one."""

import json

import pytest
import torch
from models import prompt_ids, save_tiny, tiny_model

from safetyheads.cli import main
from safetyheads.core.ablation import ablated
from safetyheads.evaluation.judges import next_token_logprobs
from safetyheads.scores.specificity import Objective, sahara_contrastive
from safetyheads.types import AblationSpec, Head, SafetyHeadsError

PROMPTS = [prompt_ids(n, seed=n)[0] for n in (6, 8, 9)]


def direct_kl(p_log, q_log):
    return float((p_log.exp() * (p_log - q_log)).sum())


@torch.no_grad()
def last_logprobs(model, ids):
    return model(input_ids=ids[None]).logits[0, -1].double().log_softmax(-1)


def test_untune_objective_matches_a_direct_computation():
    tuned, untuned = tiny_model("llama", seed=0), tiny_model("llama", seed=1)
    spec = AblationSpec.parse("ua-q")
    targets = next_token_logprobs(untuned, PROMPTS)
    for t, ids in zip(targets, PROMPTS, strict=True):
        assert torch.allclose(t, last_logprobs(untuned, ids))
    result, stopped = sahara_contrastive(tuned, PROMPTS, objective=Objective(reward="untune"), steps=1, spec=spec,
                                         target_logprobs=targets)  # fmt: skip
    assert stopped is None
    grid = result.steps[0].extra["untuning"]
    base = [direct_kl(t, last_logprobs(tuned, ids)) for t, ids in zip(targets, PROMPTS, strict=True)]
    expected = {}
    for layer in range(3):
        for head in range(4):
            with ablated(tuned, [Head(layer, head)], spec):
                after = [direct_kl(t, last_logprobs(tuned, ids)) for t, ids in zip(targets, PROMPTS, strict=True)]
            expected[Head(layer, head)] = sum(b - a for b, a in zip(base, after, strict=True)) / len(PROMPTS)
            assert grid[layer][head] == pytest.approx(expected[Head(layer, head)], abs=1e-6)
            assert result.steps[0].scores[layer][head] == pytest.approx(expected[Head(layer, head)], abs=1e-6)
    assert result.group[0] == max(expected, key=lambda h: (expected[h], -h.layer, -h.head))
    with pytest.raises(SafetyHeadsError, match="untuned"):
        sahara_contrastive(tuned, PROMPTS, objective=Objective(reward="untune"), steps=1)


def test_sahara_command_with_the_untune_score(tmp_path, capsys):
    tuned, base = save_tiny("llama", tmp_path / "tuned", seed=0), save_tiny("llama", tmp_path / "base", seed=1)
    prompts = tmp_path / "p.txt"
    prompts.write_text("How do I pick a lock?\nMake a fake ID.\nSteal a car.\n")
    out = tmp_path / "run"
    args = ["sahara", "--model", tuned, "--prompts", str(prompts), "--steps", "2", "--score", "untune", "--beam", "2"]
    assert main([*args, "--base-model", base, "--out", str(out)]) == 0
    saved = json.loads((out / "sahara.json").read_text())
    assert saved["objective"]["reward"] == "untuning" and len(saved["group"]) == 2
    assert "untuning" in saved["steps"][0]
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    assert "--base-model" in capsys.readouterr().err
    assert main(["sahara", "--model", tuned, "--prompts", str(prompts), "--base-model", base,
                 "--out", str(tmp_path / "z")]) == 2  # fmt: skip
    assert main(["ships", "--model", tuned, "--prompts", str(prompts), "--score", "untune",
                 "--out", str(tmp_path / "w")]) == 2  # fmt: skip
