"""Generalized Ships and Sahara against a direct computation with naive forwards."""

import copy

import pytest
import torch
from models import prompt_ids, tiny_model

from safetyheads.core.engine import Engine
from safetyheads.core.families import model_shape
from safetyheads.scores.reference import naive_ablation, naive_final_hidden
from safetyheads.scores.sahara import generalized_ships, principal_angle_sum, sahara, top_left_singular
from safetyheads.types import AblationSpec, Head

PROMPTS = [prompt_ids(n, seed=s) for n, s in [(6, 1), (9, 2), (7, 3), (11, 4), (5, 5)]]


def naive_generalized(model, prompts, group, head, spec, rank):
    base = torch.stack([naive_final_hidden(model, ids) for ids in prompts])
    with naive_ablation(model, [*group, head], spec):
        abl = torch.stack([naive_final_hidden(model, ids) for ids in prompts])
    u0 = torch.linalg.svd(base.double(), full_matrices=False)[0][:, :rank]
    u1 = torch.linalg.svd(abl.double(), full_matrices=False)[0][:, :rank]
    cos = torch.linalg.svdvals(u0.T @ u1).clamp(-1, 1)
    return float(torch.rad2deg(torch.arccos(cos)).sum())


def test_principal_angles_of_known_subspaces():
    e = torch.eye(4, dtype=torch.float64)
    assert principal_angle_sum(e[:, :1], e[:, :1]) == pytest.approx(0.0, abs=1e-6)
    assert principal_angle_sum(e[:, :1], e[:, 1:2]) == pytest.approx(90.0)
    v = torch.tensor([[1.0], [1.0], [0.0], [0.0]], dtype=torch.float64) / 2**0.5
    assert principal_angle_sum(e[:, :1], v) == pytest.approx(45.0)
    assert principal_angle_sum(e[:, :2], e[:, 1:3]) == pytest.approx(90.0)
    m = torch.randn(5, 3, dtype=torch.float64)
    assert top_left_singular(m, 2).shape == (5, 2)


@pytest.mark.parametrize("family,kind,rank", [("llama", "ua-q", 1), ("qwen3", "ua-q", 2), ("gpt2", "sc", 1)])
def test_generalized_ships_matches_naive(family, kind, rank):
    model = tiny_model(family)
    reference = copy.deepcopy(model)
    spec = AblationSpec.parse(kind)
    engine = Engine(model, spec, batch_size=4)
    heads = model_shape(model).all_heads(spec)
    group = (Head(1, 0),)
    candidates = [h for h in heads if h not in group]
    fast = generalized_ships(engine, PROMPTS, candidates, group, rank)
    for h in candidates:
        ref = naive_generalized(reference, PROMPTS, group, h, spec, rank)
        assert fast[h] == pytest.approx(ref, rel=1e-3, abs=1e-3)
    assert max(fast.values()) > 0.5


def test_sahara_returns_distinct_heads_led_by_each_scoreboard():
    model = tiny_model("llama")
    result = sahara(model, PROMPTS, steps=3, rank=1, batch_size=6)
    assert len(result.group) == 3 and len(set(result.group)) == 3
    for step in result.steps:
        scores = {
            Head(layer, h): v for layer, row in enumerate(step.scores) for h, v in enumerate(row) if v is not None
        }
        assert max(scores, key=scores.get) == step.chosen
    first = result.steps[0].scores
    assert first[result.group[0].layer][result.group[0].head] == max(v for row in first for v in row)
    # heads already in the group are not scored again
    second = result.steps[1].scores
    assert second[result.group[0].layer][result.group[0].head] is None


def test_sahara_resumes_from_done_steps():
    model = tiny_model("llama")
    full = sahara(model, PROMPTS, steps=2, batch_size=6)
    resumed = sahara(model, PROMPTS, steps=2, batch_size=6, done_steps=full.steps[:1])
    assert resumed.group == full.group
    flat = lambda grid: [v for row in grid for v in row if v is not None]  # noqa: E731
    assert flat(resumed.steps[1].scores) == pytest.approx(flat(full.steps[1].scores), rel=1e-6)
