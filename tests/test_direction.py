"""Refusal-direction ablation: difference of means, run-time projection and baked weights, on every family."""

import pytest
import torch
from models import FAMILIES, prompt_ids, tiny_model

from safetyheads.core.ablation import ablated, install, without_direction
from safetyheads.core.direction import (
    RefusalDirection,
    baked_direction,
    difference_of_means,
    parameter_budget,
    save_without_direction,
)
from safetyheads.core.families import decoder_layers, facts_for, model_shape
from safetyheads.data.loading import model_class
from safetyheads.types import AblationSpec, Head, SafetyHeadsError

POST_NORMS = {"gemma2", "gemma3_text", "gemma3", "gemma4_text", "gemma4", "olmo2", "olmo3", "exaone4", "glm4"}  # normed


def random_direction(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(model_shape(model).hidden_size, generator=g)


def layer_outputs(model, ids):
    """Every decoder layer's output, by plain forward hooks (independent of safetyheads' capture)."""
    outs = []
    hooks = [
        layer.register_forward_hook(lambda m, a, o: outs.append(o if isinstance(o, torch.Tensor) else o[0]))
        for layer in decoder_layers(model)
    ]
    try:
        with torch.no_grad():
            model(input_ids=ids)
    finally:
        for h in hooks:
            h.remove()
    return outs


@pytest.mark.parametrize("family", FAMILIES)
def test_run_time_ablation_leaves_no_component_along_the_direction(family):
    model = tiny_model(family)
    r = random_direction(model)
    unit = r / r.norm()
    ids = prompt_ids(10)
    with torch.no_grad():
        plain = model(input_ids=ids).logits
    before = layer_outputs(model, ids)
    with without_direction(model, r):
        after = layer_outputs(model, ids)
        with torch.no_grad():
            ablated_logits = model(input_ids=ids).logits
    assert max(float((o @ unit).abs().max()) for o in before) > 1e-2
    for o in after:
        assert float((o @ unit).abs().max()) <= 1e-5 * float(o.abs().max()) + 1e-6
    assert (ablated_logits - plain).abs().max() > 1e-3
    with torch.no_grad():  # switched off after the block
        assert torch.equal(model(input_ids=ids).logits, plain)


def test_run_time_ablation_matches_a_hand_written_projection_on_llama():
    """Direct computation: the Llama forward written out by hand, projecting at each residual write."""
    model = tiny_model("llama")
    r = random_direction(model, 3)
    u = r / r.norm()
    ids = prompt_ids(8)

    def proj(x):
        return x - (x @ u)[..., None] * u

    hooks = [model.model.embed_tokens.register_forward_hook(lambda m, a, o: proj(o))]
    for layer in model.model.layers:
        hooks.append(layer.self_attn.o_proj.register_forward_hook(lambda m, a, o: proj(o)))
        hooks.append(layer.mlp.down_proj.register_forward_hook(lambda m, a, o: proj(o)))
    with torch.no_grad():
        expected = model(input_ids=ids).logits
    for h in hooks:
        h.remove()
    with without_direction(model, r), torch.no_grad():
        got = model(input_ids=ids).logits
    assert (got - expected).abs().max() <= 1e-5


@pytest.mark.parametrize("family", FAMILIES)
def test_baked_direction_equals_run_time_ablation(family, tmp_path):
    model = tiny_model(family)
    r = random_direction(model, 1)
    ids = prompt_ids(12)
    with torch.no_grad():
        plain = model(input_ids=ids).logits
    out = tmp_path / family
    if family in POST_NORMS:
        with pytest.raises(SafetyHeadsError, match="normalise each sublayer.*run time"):
            save_without_direction(model, None, RefusalDirection(r / r.norm(), 0, r[None]), out)
        assert not (out / "config.json").exists()
        return
    with without_direction(model, r), torch.no_grad():
        expected = model(input_ids=ids).logits
    with baked_direction(model, r) as edited, torch.no_grad():
        in_memory = model(input_ids=ids).logits
    assert edited > 0
    assert (in_memory - expected).abs().max() <= 1e-4
    with torch.no_grad():  # weights and tying restored
        assert torch.equal(model(input_ids=ids).logits, plain)
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    save_without_direction(model, None, RefusalDirection(r / r.norm(), 1, r[None]), out, source="tiny")
    reloaded = model_class(str(out)).from_pretrained(out).eval()
    with torch.no_grad():
        got = reloaded(input_ids=ids).logits
    assert (got - expected).abs().max() <= 1e-4, family
    assert "safetyheads" not in str(reloaded.config._attn_implementation)
    assert reloaded.config.safetyheads_direction["layer"] == 1
    if tied:  # the source keeps its tying; the saved model unties (its output side keeps the old weights)
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
        assert reloaded.get_output_embeddings().weight is not reloaded.get_input_embeddings().weight


def test_direction_combines_with_head_ablation():
    model = tiny_model("qwen2")
    r = random_direction(model, 2)
    ids = prompt_ids(9)
    heads, spec = [Head(1, 2)], AblationSpec.parse("ua-q")
    with torch.no_grad():
        with ablated(model, heads, spec):
            only_heads = model(input_ids=ids).logits
        with without_direction(model, r):
            only_direction = model(input_ids=ids).logits
            with ablated(model, heads, spec):
                both = model(input_ids=ids).logits
    assert (both - only_heads).abs().max() > 1e-3 and (both - only_direction).abs().max() > 1e-3


@pytest.mark.parametrize("family", ["llama", "gpt2", "gemma2"])
def test_difference_of_means_matches_hidden_states(family):
    """Against transformers' own hidden states (layer i's output is hidden_states[i + 1], last layer excluded:
    some families return it after the final norm)."""
    model = tiny_model(family)
    harmful = [prompt_ids(n, seed=n)[0] for n in (5, 7, 9)]
    harmless = [prompt_ids(n, seed=10 + n)[0] for n in (4, 6)]
    got = difference_of_means(model, harmful, harmless)
    n_layers = model_shape(model).n_layers
    assert got.shape == (n_layers, model_shape(model).hidden_size)

    def mean_last(prompts):
        rows = []
        for ids in prompts:
            with torch.no_grad():
                hs = model(input_ids=ids[None], output_hidden_states=True).hidden_states
            rows.append(torch.stack([hs[i + 1][0, -1] for i in range(n_layers - 1)]))
        return torch.stack(rows).double().mean(0)

    expected = (mean_last(harmful) - mean_last(harmless)).float()
    assert torch.allclose(got[: n_layers - 1], expected, atol=1e-5)


def test_direction_directory_round_trip_and_checks(tmp_path):
    model = tiny_model("llama")
    cands = torch.randn(3, model_shape(model).hidden_size)
    d = RefusalDirection(cands[1] / cands[1].norm(), 1, cands, {"model": "tiny", "layers": [{"layer": 0}]})
    d.save(tmp_path / "d")
    back = RefusalDirection.load(tmp_path / "d")
    assert back.layer == 1 and torch.allclose(back.vector, d.vector) and torch.equal(back.candidates, cands)
    assert back.info["layers"] == [{"layer": 0}]
    assert torch.allclose(back.with_layer(2).vector, cands[2] / cands[2].norm())
    with pytest.raises(SafetyHeadsError, match="outside"):
        back.with_layer(3)
    with pytest.raises(SafetyHeadsError, match="not a direction directory"):
        RefusalDirection.load(tmp_path)
    other = tiny_model("gpt_neox")
    other_width = RefusalDirection(torch.ones(32) / 32**0.5, 0, torch.ones(1, 32))
    with pytest.raises(SafetyHeadsError, match="dimensions"):
        other_width.check_fits(other)
    with pytest.raises(ValueError, match="zero"):
        with without_direction(model, torch.zeros(model_shape(model).hidden_size)):
            pass


def test_parameter_budget_counts_the_edited_matrices():
    model = tiny_model("llama")
    budget = parameter_budget(model)
    shape = model_shape(model)
    facts = facts_for(model)
    assert facts.attn_write == "self_attn.o_proj"
    per_layer = shape.hidden_size * shape.n_heads * shape.head_dim + 96 * shape.hidden_size  # o_proj + down_proj
    assert budget["edited_parameters"] == 96 * shape.hidden_size + shape.n_layers * per_layer
    assert budget["free_parameters"] == shape.hidden_size
    install(model)  # installing hooks adds no parameters
    assert parameter_budget(model) == budget


def test_an_expert_model_with_a_dense_layer_bakes_each_layer_by_its_own_write(tmp_path):
    """A Qwen3-MoE with a dense MLP at layer 1 (``mlp_only_layers``): the bake edits that layer's down_proj and the
    other layers' experts, and equals run-time ablation. Experts the table cannot edit (quantised ones keep other
    parameters) are refused, naming the layer, rather than leaving that layer's writes along the direction."""
    from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

    cfg = Qwen3MoeConfig(
        vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
        mlp_only_layers=[1],
    )  # fmt: skip
    torch.manual_seed(0)
    model = Qwen3MoeForCausalLM(cfg).eval()
    r = random_direction(model)
    ids = prompt_ids(12)
    with without_direction(model, r), torch.no_grad():
        expected = model(input_ids=ids).logits
    with baked_direction(model, r) as edited, torch.no_grad():
        got = model(input_ids=ids).logits
        dense = model.model.layers[1].mlp.down_proj.weight
        assert (r / r.norm() @ dense).abs().max() < 1e-5  # the dense layer writes nothing along the direction
    assert edited > 0 and (got - expected).abs().max() <= 1e-4
    del model.model.layers[2].mlp.experts.down_proj
    with pytest.raises(SafetyHeadsError, match="layer 2 has no mlp.experts.down_proj.*run time"):
        save_without_direction(model, None, RefusalDirection(r / r.norm(), 0, r[None]), tmp_path / "out")
    assert not (tmp_path / "out" / "config.json").exists()
