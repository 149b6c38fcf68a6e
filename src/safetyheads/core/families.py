"""The one table that knows model families.

Runtime ablation is generic (it goes through transformers' attention interface);
this table only says where a family keeps its decoder layers, its attention
module and its projection weights, which the layer-reuse engine and weight
surgery need. Adding a family is adding one row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from torch import nn

from safetyheads.types import ModelShape, SafetyHeadsError


class QKVLayout(StrEnum):
    SEPARATE = "separate"  # q_proj / k_proj / v_proj, nn.Linear (rows are output features)
    FUSED_ROWS = "fused-rows"  # one nn.Linear, rows [Q heads | K heads | V heads] (Phi-3)
    FUSED_CONV1D = "fused-conv1d"  # GPT-2 Conv1D, columns [Q | K | V]
    INTERLEAVED = "interleaved"  # one nn.Linear, rows per head [q | k | v] (GPT-NeoX)
    # Multi-head latent attention (DeepSeek V2/V3): one projection gives every query head (rows per head), while
    # each head's key joins its own part, from a shared latent, to a rotary part that all heads share
    LATENT = "latent"


@dataclass(frozen=True)
class FamilyFacts:
    layers: str  # dotted path from the CausalLM to the decoder layer list
    final_norm: str  # dotted path from the CausalLM to the norm applied after the last layer
    attention: str  # attribute of a decoder layer holding its attention module
    qkv: str  # attribute of the attention module with the query (or fused qkv) projection; "a|b": the first set
    out: str  # attribute of the attention module with the output projection
    layout: QKVLayout = QKVLayout.SEPARATE
    # (config attribute, layout when it is false): a family whose fused layout depends on its config (GPT-BigCode:
    # [Q | K | V] with one key/value head under multi_query, per-head [q | k | v] without)
    layout_flag: tuple[str, QKVLayout] | tuple[()] = ()
    key: str = "k_proj"  # key projection (SEPARATE only)
    out_is_conv1d: bool = False
    # Query/key normalised after projection, so weight scaling is undone. Value gives the layout
    # of the norm's output: "bthd" (per head, before transpose), "bhtd" (after), "flat" (whole projection).
    qk_norm: str = ""
    qk_norm_flag: str = ""  # config attribute that switches the q/k norm on (unset: the family always has it)
    # Attributes of the attention module holding them (one name twice: a norm called on the query, then the key);
    # a layer without them (Llama 4's layers without rotary encoding) has no q/k norm.
    qk_norm_names: tuple[str, str] = ("q_norm", "k_norm")
    # Attribute of a decoder layer holding its MLP (feed-forward) module; "a+b": several, whose outputs the layer
    # adds up (Granite 4: experts beside a shared MLP), a part that a layer lacks or leaves None being skipped.
    mlp: str = "mlp"
    # Dotted paths, from a decoder layer, of the modules whose outputs the layer adds to the residual stream
    # (direction ablation projects them; "a+b" as for ``mlp``). A norm here (post-sublayer norms) means weights
    # cannot bake it.
    attn_write: str = "self_attn.o_proj"
    mlp_write: str = "mlp.down_proj"
    # When the MLP write is a mixture-of-experts block: the parameters that write its output (dotted paths from a
    # decoder layer), each with the axis that holds residual-stream features, which a direction bake edits.
    expert_writes: tuple[tuple[str, int], ...] = ()
    # In models that mix dense MLP layers among the expert layers (first_k_dense_replace, mlp_only_layers): the
    # linear residual write of a dense layer.
    dense_mlp_write: str = ""
    # Hybrid models: the attribute of the other token mixer that layers have instead of ``attention`` (linear
    # attention, Mamba, short convolutions) or beside it (Falcon-H1), and the path, from a decoder layer, of its
    # residual write.
    mixer: str = ""
    mixer_write: str = ""
    # Config attribute counting the layers that reuse earlier layers' keys and values (Gemma 4's small models): a
    # forward must then run every layer, so the engine cannot start from cached lower layers.
    kv_shared_flag: str = ""
    # Whether a forward on a cache can take several new tokens at once. Jamba's Mamba layers read a multi-token
    # input on a cache as a fresh prompt, so scoring continuations on a shared context's cache would be wrong there.
    extends_cache: bool = True
    # Config attributes of the head sizes where a family names them otherwise: query/key heads, and the value heads
    # that feed the output projection (MLA's differ from its query/key heads').
    head_dim_key: str = "head_dim"
    value_head_dim_key: str = ""
    # LATENT: the attention module's method that returns (keys, values) per head, which the naive reference wraps to
    # ablate a key head (no weight edit can).
    keys_from: str = ""


_LLAMA_PATHS = dict(layers="model.layers", final_norm="model.norm", attention="self_attn", qkv="q_proj", out="o_proj")
_LLAMA_LIKE = FamilyFacts(**_LLAMA_PATHS)
_POST_NORMS = dict(attn_write="post_attention_layernorm", mlp_write="post_feedforward_layernorm")
# a mixture-of-experts block: the residual write is the whole block's output (a dense layer's: its down_proj)
_MOE = dict(mlp_write="mlp", dense_mlp_write="mlp.down_proj")
_EXPERTS = (("mlp.experts.down_proj", 1),)  # stacked (expert, out, in)
_SHARED_EXPERT = ("mlp.shared_expert.down_proj.weight", 0)  # Qwen MoE: one expert every token also goes through
_SHARED_EXPERTS = ("mlp.shared_experts.down_proj.weight", 0)  # ERNIE, GLM: the same, under another name
_MLA = dict(
    {**_LLAMA_PATHS, "qkv": "q_b_proj|q_proj"},
    layout=QKVLayout.LATENT,
    key="",
    head_dim_key="qk_head_dim",
    value_head_dim_key="v_head_dim",
    keys_from="expand_kv",
)
_HYBRID = dict(mixer="linear_attn", mixer_write="linear_attn.out_proj")
_LFM2 = dict(  # Liquid LFM2: short-convolution layers among attention layers, its final norm named embedding_norm
    layers="model.layers", final_norm="model.embedding_norm", attention="self_attn", qkv="q_proj", out="out_proj",
    qk_norm="bthd", qk_norm_names=("q_layernorm", "k_layernorm"), mlp="feed_forward", attn_write="self_attn.out_proj",
    mlp_write="feed_forward.w2", mixer="conv", mixer_write="conv.out_proj",
)  # fmt: skip

FAMILIES: dict[str, FamilyFacts] = {
    "llama": _LLAMA_LIKE,
    "mistral": _LLAMA_LIKE,
    "qwen2": _LLAMA_LIKE,
    "gemma": _LLAMA_LIKE,
    "gemma2": FamilyFacts(**_LLAMA_PATHS, **_POST_NORMS),
    "olmo": _LLAMA_LIKE,
    "qwen3": FamilyFacts(**_LLAMA_PATHS, qk_norm="bthd"),
    "gemma3_text": FamilyFacts(**_LLAMA_PATHS, qk_norm="bhtd", **_POST_NORMS),
    "olmo2": FamilyFacts(**_LLAMA_PATHS, qk_norm="flat", **_POST_NORMS),
    "olmo3": FamilyFacts(**_LLAMA_PATHS, qk_norm="flat", **_POST_NORMS),
    # Gemma 4: larger heads in its global layers (layer_head_dim), norms on q, k and v, per-layer input embeddings
    "gemma4_text": FamilyFacts(**_LLAMA_PATHS, qk_norm="bthd", **_POST_NORMS, kv_shared_flag="num_kv_shared_layers"),
    "granite": _LLAMA_LIKE,
    "smollm3": _LLAMA_LIKE,
    "cohere": FamilyFacts(**_LLAMA_PATHS, qk_norm="bthd", qk_norm_flag="use_qk_norm"),  # parallel, as cohere2
    "cohere2": _LLAMA_LIKE,  # attention and MLP in parallel, both writing to the residual stream
    "exaone4": FamilyFacts(**_LLAMA_PATHS, qk_norm="bhtd", **_POST_NORMS),
    "glm": _LLAMA_LIKE,
    "ministral": _LLAMA_LIKE,  # Ministral 8B (2410)
    "ministral3": _LLAMA_LIKE,  # Ministral 3: the text decoder of its image-text model, or text-only
    "arcee": _LLAMA_LIKE,
    "helium": _LLAMA_LIKE,
    "seed_oss": _LLAMA_LIKE,
    "ernie4_5": _LLAMA_LIKE,
    "vaultgemma": _LLAMA_LIKE,  # Gemma 2 style soft-capping, no post norms
    "nemotron": _LLAMA_LIKE,  # partial rotary, LayerNorm1P
    "apertus": FamilyFacts(**_LLAMA_PATHS, qk_norm="bhtd"),
    "hunyuan_v1_dense": FamilyFacts(**_LLAMA_PATHS, qk_norm="bhtd", qk_norm_names=("query_layernorm", "key_layernorm")),
    "stablelm": FamilyFacts(  # StableLM 2: optional per-head q/k layer norm, optional parallel residual
        **_LLAMA_PATHS, qk_norm="bhtd", qk_norm_flag="qk_layernorm", qk_norm_names=("q_layernorm", "k_layernorm")
    ),
    "glm4": FamilyFacts(**_LLAMA_PATHS, attn_write="post_self_attn_layernorm", mlp_write="post_mlp_layernorm"),
    "starcoder2": FamilyFacts(**_LLAMA_PATHS, mlp_write="mlp.c_proj"),
    "mixtral": FamilyFacts(**_LLAMA_PATHS, **_MOE, expert_writes=_EXPERTS),
    "qwen2_moe": FamilyFacts(**_LLAMA_PATHS, **_MOE, expert_writes=(*_EXPERTS, _SHARED_EXPERT)),
    "qwen3_moe": FamilyFacts(**_LLAMA_PATHS, qk_norm="bthd", **_MOE, expert_writes=_EXPERTS),
    "olmoe": FamilyFacts(**_LLAMA_PATHS, qk_norm="flat", **_MOE, expert_writes=_EXPERTS),
    "phimoe": FamilyFacts(**_LLAMA_PATHS, **_MOE, expert_writes=_EXPERTS),
    "granitemoe": FamilyFacts(
        **_LLAMA_PATHS,
        mlp="block_sparse_moe",
        mlp_write="block_sparse_moe",
        expert_writes=(("block_sparse_moe.experts.down_proj", 1),),
    ),  # fmt: skip
    # ERNIE 4.5 MoE and GLM-4.5 start with dense layers; GLM's q/k norm is optional
    "ernie4_5_moe": FamilyFacts(**_LLAMA_PATHS, **_MOE, expert_writes=(*_EXPERTS, _SHARED_EXPERTS)),
    "glm4_moe": FamilyFacts(
        **_LLAMA_PATHS, qk_norm="bthd", qk_norm_flag="use_qk_norm", **_MOE, expert_writes=(*_EXPERTS, _SHARED_EXPERTS)
    ),
    "hunyuan_v1_moe": FamilyFacts(
        **_LLAMA_PATHS,
        qk_norm="bhtd",
        qk_norm_names=("query_layernorm", "key_layernorm"),
        **_MOE,
        expert_writes=(*_EXPERTS, ("mlp.shared_mlp.down_proj.weight", 0)),
    ),  # fmt: skip
    # DeepSeek V2/V3 (and Kimi, Moonlight): latent attention, shared experts, dense layers first; the query comes
    # from q_b_proj after a low-rank q_a_proj, or from q_proj where the config sets no q_lora_rank (V2-Lite)
    "deepseek_v2": FamilyFacts(**_MLA, **_MOE, expert_writes=(*_EXPERTS, _SHARED_EXPERTS)),
    "deepseek_v3": FamilyFacts(**_MLA, **_MOE, expert_writes=(*_EXPERTS, _SHARED_EXPERTS)),
    # Llama 4: one weightless norm for queries and keys, only in the layers with rotary encoding; dense and expert
    # layers alternate under feed_forward; experts stacked (expert, in, out)
    "llama4_text": FamilyFacts(
        **_LLAMA_PATHS,
        qk_norm="bthd",
        qk_norm_flag="use_qk_norm",
        qk_norm_names=("qk_norm", "qk_norm"),
        mlp="feed_forward",
        mlp_write="feed_forward",
        dense_mlp_write="feed_forward.down_proj",
        expert_writes=(("feed_forward.experts.down_proj", 2), ("feed_forward.shared_expert.down_proj.weight", 0)),
    ),  # fmt: skip
    # Qwen2-VL, Qwen2.5-VL, Qwen3-VL: the text decoders of image-text models (multimodal rotary positions, which
    # text alone reduces to plain ones); no causal-LM class, so they load whole (families._text_facts)
    "qwen2_vl_text": _LLAMA_LIKE,
    "qwen2_5_vl_text": _LLAMA_LIKE,
    "qwen3_vl_text": FamilyFacts(**_LLAMA_PATHS, qk_norm="bthd"),
    "gpt_oss": FamilyFacts(  # stacked (expert, in, out), with a bias per expert
        **_LLAMA_PATHS, **_MOE, expert_writes=(("mlp.experts.down_proj", 2), ("mlp.experts.down_proj_bias", 1))
    ),
    # Qwen 3.5: three linear-attention layers to one of softmax attention (q/k norm; the query projection also
    # holds an output gate per head, which surgery never needs: the q/k norm already refuses ua-q/ua-k baking)
    "qwen3_5_text": FamilyFacts(**_LLAMA_PATHS, qk_norm="bthd", **_HYBRID),
    "qwen3_5_moe_text": FamilyFacts(
        **_LLAMA_PATHS, qk_norm="bthd", **_HYBRID, **_MOE, expert_writes=(*_EXPERTS, _SHARED_EXPERT)
    ),
    # Granite 4 (hybrid): Mamba-2 layers among attention layers; each layer adds its experts' and a shared MLP's
    # outputs (Granite 4 H Micro has no experts)
    "granitemoehybrid": FamilyFacts(
        **_LLAMA_PATHS,
        mlp="block_sparse_moe+shared_mlp",
        mlp_write="block_sparse_moe+shared_mlp.output_linear",
        expert_writes=(("block_sparse_moe.experts.down_proj", 1),),
        mixer="mamba",
        mixer_write="mamba.out_proj",
    ),  # fmt: skip
    # Jamba (Mamba layers, experts every other layer) and Bamba (Mamba-2): attention in a few layers
    "jamba": FamilyFacts(
        **{**_LLAMA_PATHS, "final_norm": "model.final_layernorm"},
        mlp="feed_forward",
        mlp_write="feed_forward",
        dense_mlp_write="feed_forward.down_proj",
        expert_writes=(("feed_forward.experts.down_proj", 1),),
        extends_cache=False,
        mixer="mamba",
        mixer_write="mamba.out_proj",
    ),  # fmt: skip
    "bamba": FamilyFacts(
        **{**_LLAMA_PATHS, "final_norm": "model.final_layernorm"},
        mlp="feed_forward",
        mlp_write="feed_forward.down_proj",
        mixer="mamba",
        mixer_write="mamba.out_proj",
    ),  # fmt: skip
    # Falcon-H1: attention and Mamba-2 side by side in every layer, both adding to the residual stream
    "falcon_h1": FamilyFacts(
        **{**_LLAMA_PATHS, "final_norm": "model.final_layernorm"},
        mlp="feed_forward",
        mlp_write="feed_forward.down_proj",
        mixer="mamba",
        mixer_write="mamba.out_proj",
    ),  # fmt: skip
    "lfm2": FamilyFacts(**_LFM2),
    "lfm2_moe": FamilyFacts(
        **{**_LFM2, "mlp_write": "feed_forward"},
        dense_mlp_write="feed_forward.w2",
        expert_writes=(("feed_forward.experts.down_proj", 1),),
    ),  # fmt: skip
    "phi3": FamilyFacts(
        layers="model.layers",
        final_norm="model.norm",
        attention="self_attn",
        qkv="qkv_proj",
        out="o_proj",
        layout=QKVLayout.FUSED_ROWS,
    ),
    "phi": FamilyFacts(  # Phi-1, 1.5, 2: attention and MLP in parallel, partial rotary, an optional q/k layer norm
        layers="model.layers",
        final_norm="model.final_layernorm",
        attention="self_attn",
        qkv="q_proj",
        out="dense",
        qk_norm="bhtd",
        qk_norm_flag="qk_layernorm",
        qk_norm_names=("q_layernorm", "k_layernorm"),
        attn_write="self_attn.dense",
        mlp_write="mlp.fc2",
    ),
    "gpt2": FamilyFacts(
        layers="transformer.h",
        final_norm="transformer.ln_f",
        attention="attn",
        qkv="c_attn",
        out="c_proj",
        layout=QKVLayout.FUSED_CONV1D,
        out_is_conv1d=True,
        attn_write="attn.c_proj",
        mlp_write="mlp.c_proj",
    ),
    "opt": FamilyFacts(  # OPT: the MLP is two linear layers of the decoder layer itself, learned positions
        layers="model.decoder.layers",
        final_norm="model.decoder.final_layer_norm",
        attention="self_attn",
        qkv="q_proj",
        out="out_proj",
        mlp="fc1+fc2",
        attn_write="self_attn.out_proj",
        mlp_write="fc2",
    ),
    "gptj": FamilyFacts(  # GPT-J: attention and MLP in parallel, partial interleaved rotary encoding
        layers="transformer.h",
        final_norm="transformer.ln_f",
        attention="attn",
        qkv="q_proj",
        out="out_proj",
        attn_write="attn.out_proj",
        mlp_write="mlp.fc_out",
    ),
    "gpt_bigcode": FamilyFacts(  # StarCoder 1, SantaCoder: multi-query attention, one fused c_attn
        layers="transformer.h",
        final_norm="transformer.ln_f",
        attention="attn",
        qkv="c_attn",
        out="c_proj",
        layout=QKVLayout.FUSED_ROWS,
        layout_flag=("multi_query", QKVLayout.INTERLEAVED),
        attn_write="attn.c_proj",
        mlp_write="mlp.c_proj",
    ),
    "gpt_neox": FamilyFacts(
        layers="gpt_neox.layers",
        final_norm="gpt_neox.final_layer_norm",
        attention="attention",
        qkv="query_key_value",
        out="dense",
        layout=QKVLayout.INTERLEAVED,
        attn_write="attention.dense",
        mlp_write="mlp.dense_4h_to_h",
    ),
}


def family_of(model: nn.Module) -> str:
    return getattr(model.config, "model_type", type(model).__name__)


_WRAPPER = "model.language_model"  # where image-text models (Gemma 3 4B+, Mistral Small 3, LLaVA) keep their decoder


def _text_facts(model: nn.Module) -> FamilyFacts | None:
    """An image-text model whose text decoder, of a family in the table, sits at ``model.language_model``: that
    family's facts with the decoder's paths below it (only text goes in, so the vision tower never runs)."""
    text = getattr(model.config, "text_config", None)
    facts = FAMILIES.get(getattr(text, "model_type", None) or "")
    decoder = getattr(getattr(model, "model", None), "language_model", None)
    if facts is None or decoder is None or not facts.layers.startswith("model."):
        return None
    inside = {name: f"{_WRAPPER}.{getattr(facts, name).removeprefix('model.')}" for name in ("layers", "final_norm")}
    return replace(facts, **inside)


def text_config(model: nn.Module):
    """The config of the text decoder: an image-text model's ``text_config``, else the model's own."""
    return getattr(model.config, "text_config", None) or model.config


def facts_for(model: nn.Module) -> FamilyFacts:
    family = family_of(model)
    facts = FAMILIES.get(family) or _text_facts(model)
    if facts is None:
        known = ", ".join(sorted(FAMILIES))
        raise SafetyHeadsError(
            f"model family '{family}' is not supported yet (supported: {known}, and image-text models whose text "
            "decoder is one of them); add a row to safetyheads/core/families.py"
        )
    config = text_config(model)
    if facts.qk_norm_flag and not getattr(config, facts.qk_norm_flag, False):
        facts = replace(facts, qk_norm="")
    if facts.layout_flag and not getattr(config, facts.layout_flag[0], False):
        facts = replace(facts, layout=facts.layout_flag[1])
    return facts


def get_path(root: nn.Module, dotted: str) -> nn.Module:
    obj = root
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    return get_path(model, facts_for(model).layers)


def final_norm(model: nn.Module) -> nn.Module:
    """The norm after the last decoder layer, whose output Generalized Ships reads."""
    path = facts_for(model).final_norm
    module = get_path(model, path)
    if module is None:  # OPT-350m normalises after each sublayer instead (do_layer_norm_before=False)
        raise SafetyHeadsError(
            f"this '{family_of(model)}' model has no final norm ({path} is None), which its final hidden states are "
            "read after; it is not supported"
        )
    return module


def attention_modules(model: nn.Module) -> list[nn.Module | None]:
    """Each decoder layer's attention module; None for the layers of a hybrid model that mix tokens another way."""
    facts = facts_for(model)
    out = []
    for i, layer in enumerate(decoder_layers(model)):
        module = getattr(layer, facts.attention, None)
        if module is None and not (facts.mixer and hasattr(layer, facts.mixer)):
            raise SafetyHeadsError(f"decoder layer {i} of this '{family_of(model)}' model has no '{facts.attention}'")
        out.append(module)
    return out


def present_parts(layer: nn.Module, paths: str) -> list[tuple[str, nn.Module]]:
    """(path, module) for each of the "+"-joined ``paths`` that ``layer`` holds (not missing, not None)."""
    found = []
    for path in paths.split("+"):
        try:
            module = get_path(layer, path)
        except AttributeError:
            continue
        if module is not None:
            found.append((path, module))
    return found


def extends_cache(model: nn.Module) -> bool:
    """Whether a cached forward of this model may take several new tokens (``FamilyFacts.extends_cache``)."""
    return facts_for(model).extends_cache


def shares_kv(model: nn.Module) -> bool:
    """Whether some layers reuse the keys and values that earlier layers computed in the same forward."""
    facts = facts_for(model)
    config = text_config(model)
    return bool(facts.kv_shared_flag and getattr(config, facts.kv_shared_flag, 0))


def layer_head_dim(model: nn.Module, layer: int) -> int:
    """The query/key head size of ``layer``: its attention module's own (Gemma 4's global layers have larger heads
    than its local ones), else the config's."""
    facts = facts_for(model)
    own = getattr(attention_modules(model)[layer], "head_dim", None) if facts.head_dim_key == "head_dim" else None
    return int(own or model_shape(model).head_dim)


def layer_value_head_dim(model: nn.Module, layer: int) -> int:
    """The size of the value heads that ``layer``'s output projection reads: the query/key head size, except where
    the family names another (``FamilyFacts.value_head_dim_key``: MLA)."""
    key = facts_for(model).value_head_dim_key
    config = text_config(model)
    return int(getattr(config, key)) if key else layer_head_dim(model, layer)


def projection(attn: nn.Module, names: str) -> nn.Module:
    """The attention module's projection named ``names``, or the first of "a|b" that it holds."""
    for name in names.split("|"):
        module = getattr(attn, name, None)
        if module is not None:
            return module
    raise SafetyHeadsError(f"{type(attn).__name__} holds none of the projections {names!r}")


def residual_writes(model: nn.Module) -> list[tuple[nn.Module, ...]]:
    """Per decoder layer, the modules whose outputs are added to the residual stream: the token mixer's write (or
    both mixers' where a layer runs attention and another mixer side by side), then the MLP's (one, or each part
    where the layer adds several)."""
    facts = facts_for(model)
    out = []
    mixers = facts.attn_write + (f"+{facts.mixer_write}" if facts.mixer_write else "")
    for i, layer in enumerate(decoder_layers(model)):
        # the layer's token mixers: attention, or the other mixer, or both side by side (Falcon-H1)
        mixing = [module for _, module in present_parts(layer, mixers)]
        mlp = [module for _, module in present_parts(layer, facts.mlp_write)]
        if not mixing or not mlp:
            missing = facts.mlp_write if mixing else mixers
            raise SafetyHeadsError(f"decoder layer {i} of this '{family_of(model)}' model has no {missing}")
        out.append((*mixing, *mlp))
    return out


def _per_layer(cfg, name: str, n_layers: int) -> set:
    """The values a config gives ``name`` across its layers: one, or several in a config that sets it per layer
    (Gemma 4's head size), read through transformers' per-layer view where there is one."""
    view = getattr(cfg, "per_layer_config", None) if "per_layer_config" in cfg.to_dict() else None
    if view is None:
        return {getattr(cfg, name, None)}
    return {getattr(view[i], name, None) for i in range(n_layers)}


def model_shape(model: nn.Module) -> ModelShape:
    cfg = text_config(model)
    n_layers = int(cfg.num_hidden_layers)
    counts = {name: _per_layer(cfg, name, n_layers) for name in ("num_attention_heads", "num_key_value_heads")}
    if any(len(values) > 1 for values in counts.values()):
        raise SafetyHeadsError(
            f"this '{family_of(model)}' model has a different number of heads in different layers ({counts}); "
            "that is not supported yet"
        )
    n_heads = int(counts["num_attention_heads"].pop())
    n_kv = int(counts["num_key_value_heads"].pop() or n_heads)
    hidden = int(cfg.hidden_size)
    sizes = _per_layer(cfg, facts_for(model).head_dim_key, n_layers)  # several: each layer's is layer_head_dim's
    head_dim = int(min(sizes) if None not in sizes else hidden // n_heads)
    attention = attention_modules(model)
    return ModelShape(
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=head_dim,
        hidden_size=hidden,
        vocab_size=int(cfg.vocab_size),
        attention_layers=None if all(attention) else tuple(i for i, a in enumerate(attention) if a is not None),
    )
