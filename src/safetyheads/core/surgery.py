"""Surgery: bake an ablation into the weights and save a standard Hugging Face model directory.

What each kind edits (the same units the runtime ablation acts on):

- ``ua-q``: the head's rows of W_q and its bias, x epsilon;
- ``ua-k``: the key head's rows of W_k and its bias, x epsilon (under grouped-query attention the whole
  group of query heads that share it, exactly as at run time);
- ``sc``: the head's columns of W_o, x epsilon;
- ``zero``: the head's columns of W_o, set to zero.

Weights cannot express ``ua-q``/``ua-k`` on models that normalise queries and keys after projecting them
(q/k-norm: Qwen3, Gemma 3, OLMo 2; the norm undoes the scaling), nor ``mean`` (it depends on the input).
Those are refused with a message pointing at ``sc`` or runtime ablation: a saved model never silently
differs from the runtime ablation. The ablation is recorded in the saved ``config.json`` under
``safetyheads_ablation``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from safetyheads.core.families import QKVLayout, attention_modules, facts_for, family_of, model_shape
from safetyheads.core.heads import format_heads, validate_heads
from safetyheads.core.weights import qk_projection, scale_head_output, scale_query_or_key
from safetyheads.types import AblationKind, AblationSpec, Head, SafetyHeadsError

CONFIG_KEY = "safetyheads_ablation"


def check_bakeable(model: nn.Module | None, spec: AblationSpec) -> None:
    """Refuse ablations that weights cannot express on this model (``None``: on any model), saying what to use."""
    if spec.kind is AblationKind.MEAN:
        raise SafetyHeadsError(
            "mean ablation cannot be baked into weights (the mean query depends on the input); "
            "use --ablation sc or zero to save a model, or apply mean ablation at run time (safetyheads eval --heads)"
        )
    if model is None:
        return
    if spec.kind is AblationKind.UA_K and facts_for(model).layout is QKVLayout.LATENT:
        raise SafetyHeadsError(
            f"ua-k cannot be baked into the weights of a '{family_of(model)}' model: its latent attention joins every "
            "key head to one rotary part that all heads share, so no weight edit scales one key head; use --ablation "
            "ua-q, sc or zero to save a model, or apply ua-k at run time (safetyheads eval --heads)"
        )
    if spec.kind in (AblationKind.UA_Q, AblationKind.UA_K) and facts_for(model).qk_norm:
        which = "query" if spec.kind is AblationKind.UA_Q else "key"
        raise SafetyHeadsError(
            f"{spec.kind.value} cannot be baked into the weights of a '{family_of(model)}' model: it normalises "
            f"each {which} after projecting it, which undoes any scaling of W_{which[0]}; use --ablation sc "
            "(or zero) to save a model, or apply the ablation at run time (safetyheads eval --heads)"
        )


def _touched_params(model: nn.Module, heads: Iterable[Head], spec: AblationSpec) -> list[torch.Tensor]:
    facts = facts_for(model)
    attns = attention_modules(model)
    params: dict[int, torch.Tensor] = {}
    for layer in sorted({h.layer for h in heads}):
        if spec.kind in (AblationKind.SC, AblationKind.ZERO):
            module = getattr(attns[layer], facts.out)
        else:
            module = qk_projection(model, layer, "k" if spec.kind is AblationKind.UA_K else "q")
        for p in module.parameters():
            params[id(p)] = p
    return list(params.values())


def bake(model: nn.Module, heads: Iterable[Head], spec: AblationSpec) -> list[Head]:
    """Apply the ablation to ``model``'s weights in place. Returns the validated heads."""
    check_bakeable(model, spec)
    heads = sorted(set(validate_heads(heads, model_shape(model), spec)))
    for h in heads:
        if spec.kind is AblationKind.UA_Q:
            scale_query_or_key(model, h.layer, h.head, "q", spec.epsilon)
        elif spec.kind is AblationKind.UA_K:
            scale_query_or_key(model, h.layer, h.head, "k", spec.epsilon)
        else:
            factor = 0.0 if spec.kind is AblationKind.ZERO else spec.epsilon
            scale_head_output(model, h.layer, h.head, factor)
    return heads


@contextmanager
def baked(model: nn.Module, heads: Iterable[Head], spec: AblationSpec) -> Iterator[list[Head]]:
    """The ablation baked into the weights for the duration of the block, then the original weights back."""
    check_bakeable(model, spec)
    heads = list(heads)
    saved = [
        (p, p.detach().clone()) for p in _touched_params(model, validate_heads(heads, model_shape(model), spec), spec)
    ]
    try:
        yield bake(model, heads, spec)
    finally:
        with torch.no_grad():
            for p, copy in saved:
                p.copy_(copy)


def provenance(heads: Iterable[Head], spec: AblationSpec, source: str | None = None) -> dict:
    """What the saved config records about the ablation."""
    from safetyheads import __name__ as package

    try:
        from importlib.metadata import version

        tool_version = version(package)
    except Exception:  # noqa: BLE001 - running from a source tree
        tool_version = None
    heads = list(heads)
    return {
        "heads": [h.as_list() for h in heads],
        "heads_spec": format_heads(heads),
        "kind": spec.kind.value,
        "epsilon": 0.0 if spec.kind is AblationKind.ZERO else spec.epsilon,
        "source_model": source,
        "tool": f"{package} {tool_version}" if tool_version else package,
    }


def save_with_record(model: nn.Module, tokenizer, out: Path, key: str, record) -> Path:
    """Save ``model`` (safetensors, config, tokenizer) with ``record`` under ``key`` in the saved config.

    The in-memory config is restored afterwards, and the runtime ablation's attention function is never saved:
    the directory loads with plain ``from_pretrained`` (the model's own class, ``loading.model_class``).
    """
    config = model.config
    had = hasattr(config, key)
    previous = getattr(config, key, None)
    setattr(config, key, record)
    attn = getattr(config, "_attn_implementation", None)
    try:
        if attn and str(attn).startswith("safetyheads_"):
            config._attn_implementation = attn.removeprefix("safetyheads_")
        model.save_pretrained(out, safe_serialization=True)
    finally:
        if attn:
            config._attn_implementation = attn
        if had:
            setattr(config, key, previous)
        else:
            delattr(config, key)
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    return out


def save_ablated(
    model: nn.Module,
    tokenizer,
    heads: Iterable[Head],
    spec: AblationSpec,
    out: str | Path,
    source: str | None = None,
) -> Path:
    """Save ``model`` with the ablation baked in (safetensors, config, tokenizer) to ``out``.

    The model itself is left as it was. The directory loads with plain ``from_pretrained``.
    """
    check_bakeable(model, spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with baked(model, heads, spec) as done:
        record = provenance(done, spec, source)
        previous = getattr(model.config, CONFIG_KEY, None)
        history = previous if isinstance(previous, list) else ([previous] if previous else [])
        save_with_record(model, None, out, CONFIG_KEY, history + [record] if history else record)
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    return out


def saved_ablation(path: str | Path) -> dict | list | None:
    """The ablation record of a saved directory's config (None when it was not made by surgery)."""
    config = json.loads((Path(path) / "config.json").read_text())
    return config.get(CONFIG_KEY)
