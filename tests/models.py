"""Tiny random models of every supported family, built in code (no downloads)."""

from __future__ import annotations

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForImageTextToText,
    CLIPVisionConfig,
    Cohere2Config,
    Cohere2ForCausalLM,
    CohereConfig,
    CohereForCausalLM,
    Exaone4Config,
    Exaone4ForCausalLM,
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3Config,
    Gemma3ForCausalLM,
    Gemma3ForConditionalGeneration,
    Gemma3TextConfig,
    Gemma4Config,
    Gemma4ForCausalLM,
    Gemma4ForConditionalGeneration,
    Gemma4TextConfig,
    GemmaConfig,
    GemmaForCausalLM,
    Glm4Config,
    Glm4ForCausalLM,
    GlmConfig,
    GlmForCausalLM,
    GPT2Config,
    GPT2LMHeadModel,
    GPTBigCodeConfig,
    GPTBigCodeForCausalLM,
    GPTJConfig,
    GPTJForCausalLM,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    GptOssConfig,
    GptOssForCausalLM,
    GraniteConfig,
    GraniteForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    LlavaConfig,
    LlavaForConditionalGeneration,
    Mistral3Config,
    Mistral3ForConditionalGeneration,
    MistralConfig,
    MistralForCausalLM,
    MixtralConfig,
    MixtralForCausalLM,
    Olmo2Config,
    Olmo2ForCausalLM,
    Olmo3Config,
    Olmo3ForCausalLM,
    OlmoConfig,
    OlmoForCausalLM,
    OPTConfig,
    OPTForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    PhiConfig,
    PhiForCausalLM,
    PixtralVisionConfig,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2MoeConfig,
    Qwen2MoeForCausalLM,
    Qwen3_5ForCausalLM,
    Qwen3_5MoeForCausalLM,
    Qwen3_5MoeTextConfig,
    Qwen3_5TextConfig,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3MoeConfig,
    Qwen3MoeForCausalLM,
    SiglipVisionConfig,
    SmolLM3Config,
    SmolLM3ForCausalLM,
    Starcoder2Config,
    Starcoder2ForCausalLM,
)

VOCAB = 96
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=3, initializer_range=0.15)
GQA = dict(num_attention_heads=4, num_key_value_heads=2)
TOKENS = dict(pad_token_id=0, bos_token_id=1, eos_token_id=2)  # inside the tiny vocabulary
LOCAL_GLOBAL = ["sliding_attention", "full_attention", "sliding_attention"]


def _gemma4_text() -> Gemma4TextConfig:
    return Gemma4TextConfig(
        **COMMON, **GQA, head_dim=16, sliding_window=4,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        per_layer_config={"02": {"head_dim": 32}}, hidden_size_per_layer_input=8, vocab_size_per_layer_input=VOCAB,
        **TOKENS,
    )  # fmt: skip


def _gemma3_text() -> Gemma3TextConfig:
    return Gemma3TextConfig(**COMMON, **GQA, head_dim=16, sliding_window=4, layer_types=LOCAL_GLOBAL)


_AUTO = {  # families whose tiny model needs nothing but COMMON, GQA, TOKENS and a head size: what each adds
    "ministral": "Ministral 8B",
    "ministral3": "Ministral 3's text decoder",
    "arcee": "a two-matrix MLP",
    "helium": "",
    "seed_oss": "",
    "ernie4_5": "",
    "vaultgemma": "soft-capping",
    "nemotron": "partial rotary, LayerNorm1P",
    "apertus": "q/k norm",
    "hunyuan_v1_dense": "q/k norm after the rotary encoding",
    "stablelm": "StableLM 2 1.6B: no q/k norm, sequential",
}


_MLA = dict(
    num_key_value_heads=4,
    kv_lora_rank=16,
    qk_nope_head_dim=8,
    qk_rope_head_dim=8,
    head_dim=8,  # the rotary part, as real configs hold it
    v_head_dim=12,
    n_routed_experts=4,
    num_experts_per_tok=2,
    moe_intermediate_size=32,
    n_shared_experts=1,
    first_k_dense_replace=1,
    n_group=1,
    topk_group=1,
)
# Granite 4: Mamba-2 in layers 0 and 2, attention in layer 1, a shared MLP beside the experts (none: dense)
_GRANITE_HYBRID = dict(
    layer_types=["linear_attention", "attention", "linear_attention"], mamba_n_heads=8, mamba_d_state=16,
    mamba_chunk_size=8, shared_intermediate_size=32,
)  # fmt: skip
_AUTO_MOE: dict[str, dict] = {
    "olmoe": dict(num_experts=4, num_experts_per_tok=2),  # q/k norm over the whole projection
    "phimoe": dict(num_local_experts=4, num_experts_per_tok=2),
    "granitemoe": dict(num_local_experts=4, num_experts_per_tok=2),  # the block is block_sparse_moe
    "ernie4_5_moe": dict(  # layer 0 dense, then experts with two shared ones
        moe_num_experts=4, moe_k=2, moe_intermediate_size=32, moe_num_shared_experts=2, moe_layer_start_index=1
    ),
    "glm4_moe": dict(  # GLM-4.5: layer 0 dense, q/k norm, partial rotary, a shared expert
        n_routed_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=32,
        n_shared_experts=1,
        first_k_dense_replace=1,
        use_qk_norm=True,
    ),  # fmt: skip
    "hunyuan_v1_moe": dict(num_experts=4, moe_topk=2),  # q/k norm after the rotary encoding, a shared MLP
    # latent attention: query/key heads of 16 (8 rotary), value heads of 12; a dense layer first, a shared expert
    "llama4_text": dict(  # Llama 4: layer 1 of experts between dense ones, layer 2 without rotary encoding (and
        # so without the q/k norm), attention in chunks of 8 tokens
        intermediate_size=32,
        intermediate_size_mlp=96,
        num_local_experts=4,
        num_experts_per_tok=1,
        interleave_moe_layer_step=2,
        no_rope_layers=[1, 1, 0],
        use_qk_norm=True,
        attention_chunk_size=8,
    ),  # fmt: skip
    # Liquid LFM2: attention only in layer 1, short convolutions around it (and experts after a dense layer)
    "lfm2": dict(layer_types=["conv", "full_attention", "conv"]),
    "lfm2_moe": dict(
        layer_types=["conv", "full_attention", "conv"],
        num_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=32,
        num_dense_layers=1,
    ),  # fmt: skip
    "granitemoehybrid": dict(_GRANITE_HYBRID, num_local_experts=4, num_experts_per_tok=2),
    "jamba": dict(  # attention in layer 1 only, experts in layer 1
        attn_layer_period=3,
        attn_layer_offset=1,
        expert_layer_period=2,
        expert_layer_offset=1,
        num_experts=4,
        num_experts_per_tok=2,
        mamba_d_state=8,
        mamba_dt_rank=8,
        use_mamba_kernels=False,
    ),  # fmt: skip
    "bamba": dict(attn_layer_indices=[1], mamba_n_heads=8, mamba_d_state=16, mamba_chunk_size=8),
    "falcon_h1": dict(mamba_d_ssm=128, mamba_n_heads=8, mamba_d_state=16, mamba_chunk_size=8),  # both in each layer
    "deepseek_v2": dict(_MLA, q_lora_rank=None),  # V2-Lite: the query from q_proj
    "deepseek_v3": dict(_MLA, q_lora_rank=24),  # the query from q_b_proj after q_a_proj; interleaved rotary
}


def _build(family: str, overrides: dict):
    if family == "llama":
        return LlamaForCausalLM(LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2))
    if family == "mistral":
        return MistralForCausalLM(MistralConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2))
    if family == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**COMMON, num_attention_heads=4, num_key_value_heads=2))
    if family == "qwen3":
        return Qwen3ForCausalLM(Qwen3Config(**COMMON, num_attention_heads=4, num_key_value_heads=2, head_dim=16))
    if family == "gemma":
        return GemmaForCausalLM(GemmaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2, head_dim=16))
    if family == "olmo":
        return OlmoForCausalLM(OlmoConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2))
    if family == "olmo2":  # q/k norm over the whole projection
        return Olmo2ForCausalLM(Olmo2Config(**COMMON, num_attention_heads=4, num_key_value_heads=2))
    if family == "gemma2":
        cfg = Gemma2Config(**COMMON, num_attention_heads=4, num_key_value_heads=2, head_dim=16, sliding_window=4)
        return Gemma2ForCausalLM(cfg)
    if family == "gemma4_text":  # the last layer global, with larger heads; per-layer input embeddings
        return Gemma4ForCausalLM(_gemma4_text())
    if family == "gemma4":  # the image-text model with a tiny vision tower
        vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
        return Gemma4ForConditionalGeneration(Gemma4Config(text_config=_gemma4_text(), vision_config=vision))
    if family == "gemma3_text":
        return Gemma3ForCausalLM(_gemma3_text())
    if family == "gemma3":  # the image-text model (Gemma 3 4B and larger) with a tiny vision tower
        vision = SiglipVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=28,
            patch_size=14,
        )
        cfg = Gemma3Config(
            text_config=_gemma3_text(), vision_config=vision, mm_tokens_per_image=4, boi_token_index=93,
            eoi_token_index=94, image_token_index=95,
        )  # fmt: skip
        return Gemma3ForConditionalGeneration(cfg)
    if family in ("qwen2_vl", "qwen2_5_vl", "qwen3_vl"):  # Qwen-VL: a Qwen decoder beside a tiny vision tower
        vision = {
            "qwen2_vl": dict(depth=1, embed_dim=16, hidden_size=64, num_heads=2, mlp_ratio=2),
            "qwen2_5_vl": dict(depth=1, hidden_size=16, out_hidden_size=64, num_heads=2, intermediate_size=32),
            "qwen3_vl": dict(
                depth=1,
                hidden_size=16,
                out_hidden_size=64,
                num_heads=2,
                intermediate_size=32,
                deepstack_visual_indexes=[0],
            ),  # fmt: skip
        }[family]
        rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}
        text = {**COMMON, **GQA, **TOKENS, "head_dim": 16, "rope_parameters": rope}
        cfg = AutoConfig.for_model(family, text_config=text, vision_config=vision)
        return AutoModelForImageTextToText.from_config(cfg)
    if family == "mistral3":  # Mistral Small 3: a Mistral decoder beside a Pixtral vision tower
        vision = PixtralVisionConfig(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=28,
            patch_size=14, head_dim=8,
        )  # fmt: skip
        text = MistralConfig(**COMMON, **GQA, head_dim=16)
        cfg = Mistral3Config(text_config=text, vision_config=vision, image_token_index=95)
        return Mistral3ForConditionalGeneration(cfg)
    if family == "llava":  # a Llama decoder beside a CLIP vision tower
        vision = CLIPVisionConfig(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=28,
            patch_size=14, projection_dim=16,
        )  # fmt: skip
        text = LlamaConfig(**COMMON, **GQA)
        return LlavaForConditionalGeneration(LlavaConfig(text_config=text, vision_config=vision, image_token_index=95))
    if family == "granite":  # every multiplier away from 1, so each must be kept
        cfg = GraniteConfig(
            **COMMON, **GQA, embedding_multiplier=2.0, attention_multiplier=0.2, residual_multiplier=0.5,
            logits_scaling=2.0,
        )  # fmt: skip
        return GraniteForCausalLM(cfg)
    if family == "smollm3":  # layer 1 without rotary position encoding
        cfg = SmolLM3Config(**COMMON, **GQA, no_rope_layers=[1, 0, 1], **TOKENS)
        return SmolLM3ForCausalLM(cfg)
    if family in ("cohere", "cohere_plain"):  # its optional q/k norm on (Command R+) and off (Command R, Aya)
        cfg = CohereConfig(**COMMON, **GQA, use_qk_norm=family == "cohere", logit_scale=1.0, **TOKENS)
        return CohereForCausalLM(cfg)
    if family == "cohere2":
        cfg = Cohere2Config(**COMMON, **GQA, sliding_window=4, layer_types=LOCAL_GLOBAL, logit_scale=1.0, **TOKENS)
        return Cohere2ForCausalLM(cfg)
    if family == "exaone4":
        cfg = Exaone4Config(**COMMON, **GQA, sliding_window=4, layer_types=LOCAL_GLOBAL, **TOKENS)
        return Exaone4ForCausalLM(cfg)
    if family == "olmo3":
        cfg = Olmo3Config(**COMMON, **GQA, sliding_window=4, layer_types=LOCAL_GLOBAL, **TOKENS)
        return Olmo3ForCausalLM(cfg)
    if family == "glm":  # partial rotary encoding, fused gate and up projections
        return GlmForCausalLM(GlmConfig(**COMMON, **GQA, head_dim=16, **TOKENS))
    if family == "glm4":  # and norms after each sublayer
        return Glm4ForCausalLM(Glm4Config(**COMMON, **GQA, head_dim=16, **TOKENS))
    if family == "starcoder2":
        return Starcoder2ForCausalLM(Starcoder2Config(**COMMON, **GQA, **TOKENS))
    if family == "mixtral":
        return MixtralForCausalLM(MixtralConfig(**COMMON, **GQA, num_local_experts=4, num_experts_per_tok=2))
    if family == "qwen2_moe":
        cfg = Qwen2MoeConfig(
            **COMMON, **GQA, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
            shared_expert_intermediate_size=32,
        )  # fmt: skip
        return Qwen2MoeForCausalLM(cfg)
    if family == "qwen3_moe":
        cfg = Qwen3MoeConfig(
            **COMMON, **GQA, head_dim=16, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32
        )
        return Qwen3MoeForCausalLM(cfg)
    if family in ("qwen3_5_text", "qwen3_5_moe_text"):  # hybrid: softmax attention only in the middle layer
        hybrid = dict(
            **COMMON, **GQA, head_dim=16, layer_types=["linear_attention", "full_attention", "linear_attention"],
            linear_key_head_dim=8, linear_value_head_dim=8, linear_num_key_heads=2, linear_num_value_heads=4, **TOKENS,
        )  # fmt: skip
        if family == "qwen3_5_text":
            return Qwen3_5ForCausalLM(Qwen3_5TextConfig(**hybrid))
        experts = dict(
            num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=32
        )
        return Qwen3_5MoeForCausalLM(Qwen3_5MoeTextConfig(**hybrid, **experts))
    if family == "gpt_oss":  # attention sinks, local and global layers, experts
        cfg = GptOssConfig(
            **COMMON, **GQA, head_dim=16, num_local_experts=4, num_experts_per_tok=2, sliding_window=4,
            layer_types=LOCAL_GLOBAL, **TOKENS,
        )  # fmt: skip
        return GptOssForCausalLM(cfg)
    if family == "phi3":
        cfg = Phi3Config(**COMMON, num_attention_heads=4, num_key_value_heads=2, pad_token_id=0)
        return Phi3ForCausalLM(cfg)
    if family in _AUTO:  # families whose tiny model needs nothing but the common settings
        cfg = AutoConfig.for_model(family, **COMMON, **GQA, **TOKENS, head_dim=16)
        return AutoModelForCausalLM.from_config(cfg)
    if family in _AUTO_MOE:  # mixture-of-experts families: four small experts, two per token
        settings = {**COMMON, **GQA, **TOKENS, "head_dim": 16, **_AUTO_MOE[family], **overrides}
        cfg = AutoConfig.for_model(family, **settings)
        return AutoModelForCausalLM.from_config(cfg)
    if family == "stablelm_qk_norm":  # StableLM 2 12B: per-head q/k layer norms, attention and MLP in parallel
        cfg = AutoConfig.for_model("stablelm", **COMMON, **GQA, **TOKENS, qk_layernorm=True, use_parallel_residual=True)
        return AutoModelForCausalLM.from_config(cfg)
    if family in ("phi", "phi_qk_norm"):  # Phi-1/1.5/2 (no q/k norm), and the config's optional q/k layer norm
        cfg = PhiConfig(**COMMON, **GQA, qk_layernorm=family == "phi_qk_norm", **TOKENS)
        return PhiForCausalLM(cfg)
    if family == "gpt2":
        cfg = GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=3, n_head=4, n_positions=64, initializer_range=0.15)
        return GPT2LMHeadModel(cfg)
    if family == "opt":
        cfg = OPTConfig(
            vocab_size=VOCAB, hidden_size=64, ffn_dim=96, num_hidden_layers=3, num_attention_heads=4,
            max_position_embeddings=64, word_embed_proj_dim=64, init_std=0.15, **TOKENS, **overrides,
        )  # fmt: skip
        return OPTForCausalLM(cfg)
    if family in ("gpt_bigcode", "gpt_bigcode_mha"):  # multi-query (StarCoder 1, SantaCoder), or per-head fused
        cfg = GPTBigCodeConfig(
            vocab_size=VOCAB, n_embd=64, n_layer=3, n_head=4, n_positions=64, initializer_range=0.15,
            multi_query=family == "gpt_bigcode", **TOKENS,
        )  # fmt: skip
        return GPTBigCodeForCausalLM(cfg)
    if family == "gptj":
        cfg = GPTJConfig(
            vocab_size=VOCAB,
            n_embd=64,
            n_layer=3,
            n_head=4,
            n_positions=64,
            rotary_dim=8,
            initializer_range=0.15,
            **TOKENS,
        )
        return GPTJForCausalLM(cfg)
    if family == "gpt_neox":
        cfg = GPTNeoXConfig(**COMMON, num_attention_heads=4, rotary_pct=0.5, max_position_embeddings=64)
        return GPTNeoXForCausalLM(cfg)
    raise KeyError(family)


# Image-text models: no row of their own, their text decoder's family applies (families._text_facts).
IMAGE_TEXT = ["gemma3", "gemma4", "mistral3", "llava", "qwen2_vl", "qwen2_5_vl", "qwen3_vl"]
# Table rows for text decoders that exist only inside an image-text model, tested through it.
DECODER_ROWS = {"qwen2_vl_text": "qwen2_vl", "qwen2_5_vl_text": "qwen2_5_vl", "qwen3_vl_text": "qwen3_vl"}
# The nine families the core issue requires, then the other rows of the family table, then the image-text models.
REQUIRED_FAMILIES = ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3", "gpt2", "gpt_neox"]
FAMILIES = [
    *REQUIRED_FAMILIES, "gemma", "olmo", "olmo2", "olmo3", "gemma4_text", "granite", "smollm3", "cohere", "cohere2",
    "exaone4", "glm", "glm4", "phi", "gptj", "opt", "gpt_bigcode", *_AUTO, "starcoder2", "mixtral", "qwen2_moe",
    "qwen3_moe", *_AUTO_MOE, "gpt_oss", "qwen3_5_text", "qwen3_5_moe_text", *IMAGE_TEXT,
]  # fmt: skip


def tiny_model(family: str, seed: int = 0, **overrides):
    """A tiny random model of ``family`` (``overrides``: config settings, for the mixture-of-experts families and
    OPT)."""
    torch.manual_seed(seed)
    if overrides and family not in {*_AUTO_MOE, "opt"}:
        raise ValueError(f"config overrides are only taken for {sorted(_AUTO_MOE)} and opt")
    model = _build(family, overrides).eval()
    if family == "qwen2":  # q/k/v biases are zero at init; make them matter
        with torch.no_grad():
            for layer in model.model.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    proj.bias.normal_(0, 0.3)
    if family == "gpt_oss":  # the experts' biases too
        with torch.no_grad():
            for layer in model.model.layers:
                layer.mlp.experts.gate_up_proj_bias.normal_(0, 0.3)
                layer.mlp.experts.down_proj_bias.normal_(0, 0.3)
    return model


def prompt_ids(length: int = 9, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, VOCAB, (1, length), generator=g)


CHARS = "\n" + "".join(chr(c) for c in range(32, 126))  # 95 characters + [UNK] = VOCAB
CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


def tiny_tokenizer():
    """A character-level tokenizer matching the tiny models' vocabulary, with a chat template."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, **{ch: i + 1 for i, ch in enumerate(CHARS)}}
    assert len(vocab) == VOCAB
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    backend.decoder = decoders.Fuse()  # characters decode back to the text, without spaces between them
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[UNK]")
    tok.chat_template = CHAT_TEMPLATE
    return tok


def save_tiny(family: str, path, seed: int = 0) -> str:
    """Save a tiny model and tokenizer as a standard Hugging Face directory; returns its path."""
    model = tiny_model(family, seed)
    model.save_pretrained(path)
    tiny_tokenizer().save_pretrained(path)
    return str(path)
