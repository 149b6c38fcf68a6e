"""Surgery: a saved model with the ablation in its weights equals runtime ablation, on every family."""

import json

import pytest
import torch
from models import FAMILIES, prompt_ids, save_tiny, tiny_model, tiny_tokenizer
from transformers import AutoModelForCausalLM

from safetyheads.cli import main
from safetyheads.core.ablation import ablated
from safetyheads.core.families import QKVLayout, facts_for, model_shape
from safetyheads.core.surgery import CONFIG_KEY, baked, check_bakeable, save_ablated, saved_ablation
from safetyheads.data.loading import model_class
from safetyheads.types import AblationSpec, Head, SafetyHeadsError

BAKEABLE = ["ua-q", "ua-k", "sc", "zero"]


def heads_for(model, spec):
    """Two heads in one layer and one in another, valid as query or as key heads (a hybrid model's one attention
    layer: all three there; multi-query attention's one key head: one a layer)."""
    shape = model_shape(model)
    layers = shape.attention_layers
    heads = [Head(layers[0], 0), Head(layers[0], 1)] if layers is not None and len(layers) == 1 else None
    heads = heads or [Head(0, 1), Head(2, 0), Head(2, 1)]
    return [h for h in heads if h.head < shape.heads_per_layer(spec)] or [Head(0, 0), Head(2, 0)]


def runtime_logits(model, ids, heads, spec):
    with ablated(model, heads, spec), torch.no_grad():
        return model(input_ids=ids).logits


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_model_equals_runtime_ablation(family, tmp_path):
    model = tiny_model(family)
    ids = prompt_ids(12)
    with torch.no_grad():
        plain = model(input_ids=ids).logits
    facts = facts_for(model)
    unbakeable = ("ua-q", "ua-k") if facts.qk_norm else ("ua-k",) if facts.layout is QKVLayout.LATENT else ()
    for kind in BAKEABLE:
        spec = AblationSpec.parse(kind, 1e-3)
        heads = heads_for(model, spec)
        out = tmp_path / kind
        if kind in unbakeable:
            with pytest.raises(SafetyHeadsError, match="sc"):
                save_ablated(model, None, heads, spec, out)
            assert not (out / "config.json").exists()
            continue
        expected = runtime_logits(model, ids, heads, spec)
        save_ablated(model, None, heads, spec, out)
        reloaded = model_class(str(out)).from_pretrained(out).eval()
        with torch.no_grad():
            got = reloaded(input_ids=ids).logits
        assert (got - expected).abs().max() <= 1e-4, (family, kind)
        assert (expected - plain).abs().max() > 1e-2  # the ablation does something
        with torch.no_grad():
            assert torch.equal(model(input_ids=ids).logits, plain)  # the source model is left as it was
        record = json.loads((out / "config.json").read_text())[CONFIG_KEY]
        assert record["kind"] == kind and record["heads"] == [h.as_list() for h in heads]
        assert record["epsilon"] == (0.0 if kind == "zero" else 1e-3)
        assert "safetyheads" not in str(reloaded.config._attn_implementation)


def test_ua_k_scales_the_whole_key_head_shared_by_a_query_group():
    model = tiny_model("llama")  # 4 query heads, 2 key heads: key head 1 serves query heads 2 and 3
    shape = model_shape(model)
    d = shape.head_dim
    before = model.model.layers[1].self_attn.k_proj.weight.detach().clone()
    with baked(model, [Head(1, 1)], AblationSpec.parse("ua-k", 0.5)):
        after = model.model.layers[1].self_attn.k_proj.weight.detach().clone()
    torch.testing.assert_close(after[d : 2 * d], 0.5 * before[d : 2 * d])
    torch.testing.assert_close(after[:d], before[:d])
    torch.testing.assert_close(model.model.layers[1].self_attn.k_proj.weight, before)  # restored


def test_weights_cannot_express_mean_or_qk_norm_scaling():
    for family in ("qwen3", "gemma3_text"):
        model = tiny_model(family)
        for kind in ("ua-q", "ua-k"):
            with pytest.raises(SafetyHeadsError, match=r"normalises.*--ablation sc.*run time"):
                check_bakeable(model, AblationSpec.parse(kind))
        check_bakeable(model, AblationSpec.parse("sc"))
    with pytest.raises(SafetyHeadsError, match="mean ablation cannot be baked"):
        check_bakeable(tiny_model("llama"), AblationSpec.parse("mean"))


def test_ablate_command_writes_a_loadable_model_with_its_tokenizer(tmp_path, capsys):
    source = save_tiny("llama", tmp_path / "src")
    out = tmp_path / "ablated"
    args = ["ablate", "--model", source, "--heads", "1-2,2-0", "--ablation", "sc", "--epsilon", "0.01"]
    assert main(args + ["--out", str(out)]) == 0
    assert "verified" in capsys.readouterr().err
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in out.iterdir()}
    assert saved_ablation(out)["heads_spec"] == "1-2,2-0"
    model = tiny_model("llama")
    ids = tiny_tokenizer()("Hello there", return_tensors="pt").input_ids
    expected = runtime_logits(model, ids, [Head(1, 2), Head(2, 0)], AblationSpec.parse("sc", 0.01))
    with torch.no_grad():
        got = AutoModelForCausalLM.from_pretrained(out)(input_ids=ids).logits
    assert (got - expected).abs().max() <= 1e-4

    # ablating the saved model again keeps both records
    again = tmp_path / "twice"
    assert main(["ablate", "--model", str(out), "--heads", "0-0", "--ablation", "zero", "--out", str(again)]) == 0
    assert [r["kind"] for r in saved_ablation(again)] == ["sc", "zero"]

    assert main(args + ["--out", str(out)]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err
    assert main(args + ["--out", str(out), "--overwrite"]) == 0


def test_ablate_command_refuses_what_weights_cannot_express(tmp_path, capsys):
    source = save_tiny("qwen3", tmp_path / "qwen3")
    out = tmp_path / "out"
    assert main(["ablate", "--model", source, "--heads", "0-1", "--ablation", "ua-q", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot be baked" in err and "--ablation sc" in err
    assert not (out / "config.json").exists()
    assert main(["ablate", "--model", "/nonexistent", "--heads", "0-1", "--ablation", "mean", "--out", str(out)]) == 2
    assert "mean ablation cannot be baked" in capsys.readouterr().err  # refused before loading anything
    assert main(["ablate", "--model", source, "--heads", "0-7", "--ablation", "sc", "--out", str(out)]) == 2
    assert "out of range" in capsys.readouterr().err
    assert main(["ablate", "--model", source, "--heads", "0-1", "--ablation", "sc", "--out", source]) == 2
    assert "inside the source model" in capsys.readouterr().err
