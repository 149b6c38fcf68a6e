"""Ablation that cannot silently stop: a changed attention implementation is re-routed or refused, and
``uninstall`` gives the model back as it was."""

import pytest
import torch
from models import prompt_ids, tiny_model

from safetyheads.core.ablation import AblationPlan, ablated, install, uninstall
from safetyheads.core.engine import Engine
from safetyheads.core.families import model_shape
from safetyheads.scores.ships import ships_for_prompt
from safetyheads.types import AblationSpec, Head

HEAD = Head(1, 2)


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids, use_cache=False).logits


@pytest.mark.parametrize(("first", "then"), [("sdpa", "eager"), ("eager", "sdpa")])
def test_switching_implementation_after_a_first_ablation_still_ablates(first, then):
    ids = prompt_ids(9)
    model = tiny_model("llama")
    model.set_attn_implementation(first)
    plain = _logits(model, ids)
    with ablated(model, [HEAD]):
        first_ablated = _logits(model, ids)
    assert not torch.allclose(first_ablated, plain)
    model.set_attn_implementation(then)  # e.g. eager, to read attention maps
    with ablated(model, [HEAD]):  # install() re-routes: the ablation applies under the new implementation
        again = _logits(model, ids)
    torch.testing.assert_close(again, first_ablated, atol=1e-5, rtol=1e-5)
    assert model.config._attn_implementation == f"safetyheads_{then}"
    # the engine too: its sweep after the switch equals a fresh model's
    model.set_attn_implementation(first)
    engine_scores = ships_for_prompt(Engine(model), ids, [HEAD])
    fresh = ships_for_prompt(Engine(tiny_model("llama")), ids, [HEAD])
    assert engine_scores[HEAD] == pytest.approx(fresh[HEAD], rel=1e-4)


def test_a_plan_that_no_layer_applied_fails_loudly():
    ids = prompt_ids(9)
    model = tiny_model("llama")
    state = install(model)
    model.set_attn_implementation("eager")  # the wrapper is bypassed from here on
    state.plan = AblationPlan.build([[HEAD]], AblationSpec(), model_shape(model)).placed(model)
    try:
        with pytest.raises(RuntimeError, match=r"did not run on layers \[1\]"):
            _logits(model, ids)
    finally:
        state.plan = None
    _logits(model, ids)  # without a plan nothing is checked


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_uninstall_restores_the_users_implementation_and_forward(impl):
    ids = prompt_ids(9)
    model = tiny_model("gpt2")
    model.set_attn_implementation(impl)
    plain = _logits(model, ids)
    with ablated(model, [HEAD]):
        pass
    assert model.config._attn_implementation == f"safetyheads_{impl}"
    uninstall(model)
    assert model.config._attn_implementation == impl
    assert not hasattr(model, "_safetyheads_state")
    hooks = [h for m in model.modules() for h in (*m._forward_hooks.values(), *m._forward_pre_hooks.values())]
    assert hooks == []
    torch.testing.assert_close(_logits(model, ids), plain)
    with ablated(model, [HEAD]):  # installable again
        assert not torch.allclose(_logits(model, ids), plain)


def test_uninstall_inside_an_ablation_is_refused():
    model = tiny_model("llama")
    with ablated(model, [HEAD]), pytest.raises(RuntimeError, match="inside an ablation"):
        uninstall(model)
