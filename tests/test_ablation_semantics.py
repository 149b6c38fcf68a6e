"""What each ablation does to attention itself, checked on the attention probabilities."""

import pytest
import torch
from models import VOCAB, prompt_ids, tiny_model

from safetyheads.core.ablation import AblationPlan, ablated, using_plan
from safetyheads.core.families import attention_modules, model_shape
from safetyheads.types import AblationSpec, Head


def attention_probs(model, ids, heads, spec):
    """Per-layer attention probabilities (1, H, T, T) under the ablation, from the eager wrapper."""
    with ablated(model, heads, spec), torch.no_grad():
        out = model(input_ids=ids, output_attentions=True, use_cache=False)
    return out.attentions


def uniform_deviation(probs: torch.Tensor) -> float:
    t = probs.shape[-1]
    uniform = torch.tril(torch.ones(t, t)) / torch.arange(1, t + 1).unsqueeze(1)
    return float((probs - uniform).abs().max())


def eager_model(family="llama"):
    model = tiny_model(family)
    model.set_attn_implementation("eager")
    return model


@pytest.mark.parametrize("family", ["llama", "qwen3", "gemma3_text"])
def test_ua_q_makes_the_head_uniform_over_the_prefix(family):
    model = eager_model(family)
    ids = prompt_ids(10)
    layer = 1  # in the tiny gemma3, layer 1 is a full-attention (not sliding-window) layer
    deviations = []
    for eps in (1e-1, 1e-3, 1e-5):
        attn = attention_probs(model, ids, [Head(layer, 2)], AblationSpec.parse("ua-q", eps))[layer][0]
        deviations.append(uniform_deviation(attn[2]))
        assert uniform_deviation(attn[1]) > 0.05  # other heads keep their pattern
    assert deviations[0] > deviations[1] > deviations[2]
    assert deviations[2] < 1e-4


def test_ua_k_makes_the_whole_query_group_uniform():
    model = eager_model("llama")  # 4 query heads share 2 key heads: key head 1 serves query heads 2 and 3
    shape = model_shape(model)
    assert shape.query_heads_of_key_head(1) == [2, 3]
    attn = attention_probs(model, prompt_ids(10), [Head(0, 1)], AblationSpec.parse("ua-k", 1e-6))[0][0]
    assert uniform_deviation(attn[2]) < 1e-4 and uniform_deviation(attn[3]) < 1e-4
    assert uniform_deviation(attn[0]) > 0.05 and uniform_deviation(attn[1]) > 0.05


def test_sc_with_zero_epsilon_removes_the_head_output():
    model = tiny_model("llama")
    ids = prompt_ids(8)
    attn = attention_modules(model)[1]
    d = model_shape(model).head_dim

    def drop_head(_module, args):  # the o_proj input without head 3's slice
        x = args[0].clone()
        x[..., 3 * d : 4 * d] = 0
        return (x,)

    handle = attn.o_proj.register_forward_pre_hook(drop_head)
    expected = model(input_ids=ids).logits
    handle.remove()
    with ablated(model, [Head(1, 3)], AblationSpec.parse("sc", 0.0)):
        got = model(input_ids=ids).logits
    with ablated(model, [Head(1, 3)], AblationSpec.parse("zero")):
        zero = model(input_ids=ids).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(zero, expected, rtol=1e-5, atol=1e-6)


def test_mean_ablation_gives_the_head_the_mean_pattern():
    model = eager_model("llama")
    ids = prompt_ids(6)
    spec = AblationSpec.parse("mean")
    plain = attention_probs(model, ids, [], spec)[0][0]
    attn = attention_probs(model, ids, [Head(0, 1)], spec)[0][0]
    assert not torch.allclose(attn[1], plain[1])
    torch.testing.assert_close(attn[0], plain[0])
    # two heads given the mean query and sharing a key head attend identically
    attn2 = attention_probs(model, ids, [Head(0, 0), Head(0, 1)], spec)[0][0]
    torch.testing.assert_close(attn2[0], attn2[1], rtol=1e-5, atol=1e-6)  # same key head, same query


def test_rows_of_one_batch_ablate_different_heads():
    model = tiny_model("mistral")
    shape = model_shape(model)
    ids = prompt_ids(7).expand(3, -1)
    rows = [(), (Head(0, 1),), (Head(2, 0), Head(1, 3))]
    plan = AblationPlan.build(rows, AblationSpec(), shape)
    with using_plan(model, plan):
        batched = model(input_ids=ids).logits
    for i, heads in enumerate(rows):
        with ablated(model, heads):
            single = model(input_ids=ids[i : i + 1]).logits
        torch.testing.assert_close(batched[i : i + 1], single, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(batched[0], batched[1])
    assert VOCAB == batched.shape[-1]


def test_a_deep_copy_of_an_ablatable_model_is_independent():
    import copy

    model = tiny_model("llama")
    ids = prompt_ids(6)
    with ablated(model, [Head(0, 1)]):
        pass  # installs the wrapper
    clone = copy.deepcopy(model)
    assert clone.model.layers[0].forward.__self__ is clone.model.layers[0]
    with torch.no_grad():
        clone.model.layers[0].self_attn.q_proj.weight.zero_()
        before = model(input_ids=ids).logits
        with ablated(clone, [Head(1, 2)]):
            clone(input_ids=ids)
            assert torch.equal(model(input_ids=ids).logits, before)  # the clone's plan is its own
        assert not torch.allclose(clone(input_ids=ids).logits, before)
