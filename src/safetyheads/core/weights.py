"""Editing projection weights in place: the basis of surgery and of the naive reference.

Each function scales the slice of a projection that belongs to one head, using
the family table for where that slice lives.
"""

from __future__ import annotations

import torch
from torch import nn

from safetyheads.core.families import (
    FamilyFacts,
    QKVLayout,
    attention_modules,
    facts_for,
    layer_head_dim,
    layer_value_head_dim,
    model_shape,
    projection,
)
from safetyheads.types import ModelShape, SafetyHeadsError


def _scale_out_features(linear: nn.Module, start: int, stop: int, factor: float, conv1d: bool) -> None:
    """Scale output features [start, stop) of a Linear (rows) or a GPT-2 Conv1D (columns), bias too."""
    with torch.no_grad():
        if conv1d:
            linear.weight[:, start:stop] *= factor
        else:
            linear.weight[start:stop] *= factor
        if getattr(linear, "bias", None) is not None:
            linear.bias[start:stop] *= factor


def _qk_slice(facts: FamilyFacts, shape: ModelShape, which: str, head: int, d: int) -> tuple[str, int, int]:
    """(attribute, start, stop) of the output features of query or key ``head`` (``d``: the layer's head size)."""
    if facts.layout is QKVLayout.SEPARATE:
        return (facts.qkv if which == "q" else facts.key), head * d, (head + 1) * d
    if facts.layout is QKVLayout.LATENT:
        if which == "k":
            raise SafetyHeadsError(
                "latent attention's key heads share their rotary part, so no weight edit scales one key head"
            )
        return facts.qkv, head * d, (head + 1) * d
    if facts.layout is QKVLayout.FUSED_ROWS or facts.layout is QKVLayout.FUSED_CONV1D:
        offset = 0 if which == "q" else shape.n_heads * d
        return facts.qkv, offset + head * d, offset + (head + 1) * d
    # interleaved: per head [q | k | v]
    base = head * 3 * d + (0 if which == "q" else d)
    return facts.qkv, base, base + d


def qk_projection(model: nn.Module, layer: int, which: str) -> nn.Module:
    """The module whose output holds query (``which='q'``) or key heads of ``layer``."""
    facts = facts_for(model)
    attr, _start, _stop = _qk_slice(facts, model_shape(model), which, 0, layer_head_dim(model, layer))
    return projection(attention_modules(model)[layer], attr)


def scale_query_or_key(model: nn.Module, layer: int, head: int, which: str, factor: float) -> None:
    """Scale the projection rows producing query (``which='q'``) or key head ``head`` of ``layer``."""
    facts = facts_for(model)
    attr, start, stop = _qk_slice(facts, model_shape(model), which, head, layer_head_dim(model, layer))
    attn = attention_modules(model)[layer]
    _scale_out_features(projection(attn, attr), start, stop, factor, facts.layout is QKVLayout.FUSED_CONV1D)


def scale_head_output(model: nn.Module, layer: int, head: int, factor: float) -> None:
    """Scale the output-projection inputs fed by ``head`` (its columns of W_o)."""
    facts = facts_for(model)
    d = layer_value_head_dim(model, layer)
    proj = getattr(attention_modules(model)[layer], facts.out)
    with torch.no_grad():
        if facts.out_is_conv1d:  # Conv1D weight is (in, out): input features are rows
            proj.weight[head * d : (head + 1) * d, :] *= factor
        else:
            proj.weight[:, head * d : (head + 1) * d] *= factor
