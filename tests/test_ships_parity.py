"""The fast Ships sweep matches a naive one-forward-per-head reference on every family and ablation kind.

In the spirit of TransformerLens's test_match_huggingface: the reference runs plain transformers forwards on an
untouched copy of the model, with the ablation applied by editing weights (or hooking the q/k-norm output).
"""

import copy

import pytest
import torch
from models import FAMILIES, prompt_ids, tiny_model

from safetyheads.core.families import model_shape
from safetyheads.scores.reference import naive_ships
from safetyheads.scores.ships import sweep_ships
from safetyheads.types import AblationSpec, Head

KINDS = ["ua-q", "ua-k", "sc", "mean", "zero"]


def assert_close(fast: float, ref: float) -> None:
    assert abs(fast - ref) <= max(1e-4 * abs(ref), 1e-7), (fast, ref)


@pytest.mark.parametrize("family", FAMILIES)
def test_fast_sweep_matches_naive_reference(family):
    model = tiny_model(family)
    reference = copy.deepcopy(model)
    ids = prompt_ids(9)
    for kind in KINDS:
        spec = AblationSpec.parse(kind)
        heads = model_shape(model).all_heads(spec)
        fast = sweep_ships(model, [("p", ids)], spec=spec, batch_size=5)[0]
        naive = naive_ships(reference, ids, heads, spec)
        assert max(naive.values()) > 1e-3, "the tiny model should react to ablations"
        for h in heads:
            assert_close(fast.scores[h.layer][h.head], naive[h])


@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_batch_size_does_not_change_scores(batch_size):
    model = tiny_model("llama")
    ids = prompt_ids(7, seed=3)
    ref = sweep_ships(model, [("p", ids)], batch_size=12)[0].scores
    got = sweep_ships(model, [("p", ids)], batch_size=batch_size)[0].scores
    for row_ref, row_got in zip(ref, got, strict=True):
        for a, b in zip(row_ref, row_got, strict=True):
            assert_close(b, a)


def test_subset_sweep_leaves_other_heads_null():
    model = tiny_model("qwen2")
    heads = [Head(0, 1), Head(2, 3)]
    result = sweep_ships(model, [("p", prompt_ids())], heads=heads)[0]
    shape = model_shape(model)
    assert len(result.scores) == shape.n_layers and all(len(r) == shape.n_heads for r in result.scores)
    swept = {(layer, h) for layer, row in enumerate(result.scores) for h, v in enumerate(row) if v is not None}
    assert swept == {(0, 1), (2, 3)}


def test_ua_k_sweeps_key_heads_under_gqa():
    model = tiny_model("llama")  # 4 query heads, 2 key heads
    result = sweep_ships(model, [("p", prompt_ids())], spec=AblationSpec.parse("ua-k"))[0]
    assert all(len(row) == 2 for row in result.scores)


@pytest.mark.parametrize("family", ["gpt2", "gpt_neox"])
def test_ua_k_equals_ua_q_without_gqa(family):
    """The paper's Q/K equivalence: scaling the query or the key by epsilon gives the same scores."""
    model = tiny_model(family)
    ids = prompt_ids(8)
    q = sweep_ships(model, [("p", ids)], spec=AblationSpec.parse("ua-q"))[0].scores
    k = sweep_ships(model, [("p", ids)], spec=AblationSpec.parse("ua-k"))[0].scores
    for row_q, row_k in zip(q, k, strict=True):
        for a, b in zip(row_q, row_k, strict=True):
            assert_close(b, a)


def test_out_of_range_head_is_rejected_with_model_counts():
    from safetyheads.types import SafetyHeadsError

    model = tiny_model("llama")
    with pytest.raises(SafetyHeadsError, match=r"3 layers .* 4 heads per layer"):
        sweep_ships(model, [("p", prompt_ids())], heads=[Head(1, 4)])
    with pytest.raises(SafetyHeadsError, match=r"2 key heads per layer"):
        sweep_ships(model, [("p", prompt_ids())], heads=[Head(1, 2)], spec=AblationSpec.parse("ua-k"))


def test_kl_is_float64_and_nonnegative():
    model = tiny_model("gemma2")
    result = sweep_ships(model, [("p", prompt_ids())], spec=AblationSpec.parse("ua-q", 1.0))[0]
    # epsilon = 1 is no ablation at all: every score is (numerically) zero
    assert all(0.0 <= v < 1e-9 for row in result.scores for v in row)
    assert torch.get_default_dtype() == torch.float32
