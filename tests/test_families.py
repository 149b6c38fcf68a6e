import pytest
import torch
from models import DECODER_ROWS, FAMILIES, IMAGE_TEXT, tiny_model
from transformers import BloomConfig, BloomForCausalLM

from safetyheads.core.ablation import install
from safetyheads.core.families import FAMILIES as TABLE
from safetyheads.core.families import attention_modules, decoder_layers, model_shape
from safetyheads.scores.ships import sweep_ships
from safetyheads.types import SafetyHeadsError


@pytest.mark.parametrize("family", FAMILIES)
def test_table_finds_layers_and_attention(family):
    model = tiny_model(family)
    shape = model_shape(model)
    assert len(decoder_layers(model)) == shape.n_layers == 3
    assert len(attention_modules(model)) == 3
    assert shape.n_heads == 4 and shape.head_dim == 16


def test_every_table_row_is_tested():
    assert set(FAMILIES) - set(IMAGE_TEXT) | set(DECODER_ROWS) == set(TABLE)
    assert set(DECODER_ROWS.values()) <= set(IMAGE_TEXT)
    assert not set(IMAGE_TEXT) & set(TABLE)  # image-text models are served by their text decoder's row


def test_unsupported_family_fails_clearly_before_any_number():
    cfg = BloomConfig(vocab_size=64, hidden_size=32, n_layer=2, n_head=4)  # its attention bypasses the interface
    model = BloomForCausalLM(cfg).eval()
    with pytest.raises(SafetyHeadsError, match=r"'bloom' is not supported.*supported: .*llama"):
        install(model)
    with pytest.raises(SafetyHeadsError, match="not supported"):
        sweep_ships(model, [("p", torch.tensor([[1, 2, 3]]))])


def test_a_config_flag_switches_a_familys_qk_norm():
    """Cohere's q/k norm is optional (``use_qk_norm``), and so is Phi's (``qk_layernorm``, its norms named
    ``q_layernorm``/``k_layernorm``): with it, weights cannot express ``ua-q`` and the reference
    hooks the norm; without it, weight edits can. Either way the fast sweep equals the naive reference."""
    from models import prompt_ids

    from safetyheads.core.families import facts_for
    from safetyheads.core.surgery import check_bakeable
    from safetyheads.scores.reference import naive_ships
    from safetyheads.types import AblationSpec

    spec = AblationSpec.parse("ua-q")
    cases = (
        ("cohere", "bthd"), ("cohere_plain", ""), ("phi_qk_norm", "bhtd"), ("phi", ""), ("stablelm_qk_norm", "bhtd"),
        ("stablelm", ""),
    )  # fmt: skip
    for family, norm in cases:
        model = tiny_model(family)
        assert facts_for(model).qk_norm == norm
        ids = prompt_ids(9)
        heads = model_shape(model).all_heads(spec)
        naive = naive_ships(model, ids, heads, spec)
        fast = sweep_ships(model, [("p", ids)], spec=spec)[0]
        assert max(naive.values()) > 1e-3
        for h in heads:
            assert abs(fast.scores[h.layer][h.head] - naive[h]) <= max(1e-4 * naive[h], 1e-7)
        if norm:
            with pytest.raises(SafetyHeadsError, match="normalises"):
                check_bakeable(model, spec)
        else:
            check_bakeable(model, spec)


def test_a_hybrid_model_has_heads_only_in_its_attention_layers():
    """Qwen 3.5 mixes tokens by linear attention in most layers: heads exist only where softmax attention is, a
    head elsewhere is refused naming the layers that have them, and a sweep leaves the other layers empty."""
    from models import prompt_ids

    from safetyheads.core.heads import validate_heads
    from safetyheads.types import Head

    model = tiny_model("qwen3_5_text")
    shape = model_shape(model)
    assert shape.attention_layers == (1,)
    assert {h.layer for h in shape.all_heads()} == {1}
    with pytest.raises(SafetyHeadsError, match="layer 0 of this model has no attention heads.*layers 1"):
        validate_heads([Head(0, 2)], shape)
    scores = sweep_ships(model, [("p", prompt_ids(9))])[0].scores
    assert scores[0] == scores[2] == [None] * 4 and all(v is not None for v in scores[1])


def test_a_model_whose_layers_share_keys_and_values_sweeps_every_layer():
    """Gemma 4's small models: the last layers reuse keys and values that earlier layers compute in the same forward,
    so the engine cannot start from cached lower layers. The fast sweep still equals the naive reference (``ua-k``
    there acts on the keys each layer reads, which no weight edit or norm hook of one layer expresses: not compared)."""
    from models import COMMON, GQA, TOKENS, VOCAB, prompt_ids
    from transformers import Gemma4ForCausalLM, Gemma4TextConfig

    from safetyheads.core.families import shares_kv
    from safetyheads.scores.reference import naive_ships
    from safetyheads.types import AblationSpec

    torch.manual_seed(0)
    cfg = Gemma4TextConfig(
        **{**COMMON, "num_hidden_layers": 5}, **GQA, head_dim=16, sliding_window=4, num_kv_shared_layers=2,
        layer_types=["sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "full_attention"],
        hidden_size_per_layer_input=8, vocab_size_per_layer_input=VOCAB, **TOKENS,
    )  # fmt: skip
    model = Gemma4ForCausalLM(cfg).eval()
    assert shares_kv(model) and [a.is_kv_shared_layer for a in (layer.self_attn for layer in model.model.layers)] == [
        False, False, False, True, True,
    ]  # fmt: skip
    ids = prompt_ids(9)
    for kind in ("ua-q", "sc", "zero", "mean"):
        spec = AblationSpec.parse(kind)
        heads = model_shape(model).all_heads(spec)
        fast = sweep_ships(model, [("p", ids)], spec=spec, batch_size=5)[0]
        naive = naive_ships(model, ids, heads, spec)
        assert max(naive.values()) > 1e-3
        for h in heads:
            assert abs(fast.scores[h.layer][h.head] - naive[h]) <= max(1e-4 * naive[h], 1e-7), (kind, h)


def test_a_granite4_hybrid_layer_writes_its_experts_and_its_shared_mlp():
    """Granite 4's layers add two MLP outputs, the experts' and a shared MLP's: direction ablation projects both
    (three writes a layer), and without experts (Granite 4 H Micro) the shared MLP's alone. Either way the baked
    direction equals run-time ablation and the fast sweep equals the naive reference."""
    from models import prompt_ids

    from safetyheads.core.ablation import without_direction
    from safetyheads.core.direction import baked_direction
    from safetyheads.core.families import residual_writes
    from safetyheads.scores.reference import naive_ships
    from safetyheads.types import AblationSpec

    for experts, writes in ((4, 3), (0, 2)):
        model = tiny_model("granitemoehybrid", num_local_experts=experts)
        assert [len(w) for w in residual_writes(model)] == [writes] * 3
        ids = prompt_ids(12)
        r = torch.randn(model_shape(model).hidden_size, generator=torch.Generator().manual_seed(3))
        with without_direction(model, r), torch.no_grad():
            expected = model(input_ids=ids).logits
        with baked_direction(model, r), torch.no_grad():
            got = model(input_ids=ids).logits
        with torch.no_grad():
            plain = model(input_ids=ids).logits
        assert (got - expected).abs().max() <= 1e-4 and (expected - plain).abs().max() > 1e-2
        spec = AblationSpec.parse("sc")
        heads = model_shape(model).all_heads(spec)
        naive = naive_ships(model, ids, heads, spec)
        fast = sweep_ships(model, [("p", ids)], spec=spec)[0]
        assert {h.layer for h in heads} == {1} and max(naive.values()) > 1e-3
        for h in heads:
            assert abs(fast.scores[h.layer][h.head] - naive[h]) <= max(1e-4 * naive[h], 1e-7)


def test_an_opt_model_without_a_final_norm_is_refused():
    """OPT-350m normalises after each sublayer and has no final layer norm: reading final hidden states there is an
    error that says why, not a crash."""
    from models import TOKENS, VOCAB, prompt_ids
    from transformers import OPTConfig, OPTForCausalLM

    from safetyheads.core.engine import Engine
    from safetyheads.scores.sahara import final_hidden_states

    cfg = OPTConfig(
        vocab_size=VOCAB, hidden_size=64, ffn_dim=96, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=64, word_embed_proj_dim=64, do_layer_norm_before=False, **TOKENS,
    )  # fmt: skip
    model = OPTForCausalLM(cfg).eval()
    with pytest.raises(SafetyHeadsError, match="no final norm"):
        final_hidden_states(Engine(model), [prompt_ids(6)], [])


def test_a_config_flag_switches_a_familys_fused_layout():
    """GPT-BigCode fuses [Q | K | V] with one key/value head under ``multi_query`` (StarCoder 1) and per-head
    [q | k | v] without: weight edits follow the layout the config gives, and equal the fast sweep either way."""
    from models import prompt_ids

    from safetyheads.core.families import QKVLayout, facts_for
    from safetyheads.scores.reference import naive_ships
    from safetyheads.types import AblationSpec

    for family, layout, kv in (("gpt_bigcode", QKVLayout.FUSED_ROWS, 1), ("gpt_bigcode_mha", QKVLayout.INTERLEAVED, 4)):
        model = tiny_model(family)
        assert facts_for(model).layout is layout and model_shape(model).n_kv_heads == kv
        ids = prompt_ids(9)
        for kind in ("ua-q", "ua-k", "mean"):
            spec = AblationSpec.parse(kind)
            heads = model_shape(model).all_heads(spec)
            naive = naive_ships(model, ids, heads, spec)
            fast = sweep_ships(model, [("p", ids)], spec=spec)[0]
            assert max(naive.values()) > 1e-3
            for h in heads:
                assert abs(fast.scores[h.layer][h.head] - naive[h]) <= max(1e-4 * naive[h], 1e-7), (family, kind, h)
