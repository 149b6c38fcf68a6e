"""Component swap: an aligned model with every decoder layer's attention (or MLP) taken from another model.

The paper's test of where safety lives: put the *base* model's attention into the *aligned* model and see
whether the refusals survive. ``attention`` is each decoder layer's attention submodule and ``mlp`` its
MLP submodule, as the family table names them (``FamilyFacts.attention`` / ``FamilyFacts.mlp``); norms,
embeddings and the output head always stay the aligned model's. Only parameters are copied (buffers such
as rotary frequencies come from the configuration, which is the aligned model's).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from safetyheads.core.families import decoder_layers, facts_for, family_of, model_shape, present_parts
from safetyheads.core.surgery import save_with_record
from safetyheads.types import SafetyHeadsError

COMPONENTS = ("attention", "mlp")
CONFIG_KEY = "safetyheads_swap"


def _attribute(model: nn.Module, component: str) -> str:
    if component not in COMPONENTS:
        raise SafetyHeadsError(f"unknown component '{component}'; choose one of: {', '.join(COMPONENTS)}")
    facts = facts_for(model)
    return facts.attention if component == "attention" else facts.mlp


def component_parameters(model: nn.Module, component: str) -> dict[str, nn.Parameter]:
    """Every parameter of the component in every decoder layer, by its full name in ``model``."""
    attribute = _attribute(model, component)
    facts = facts_for(model)
    out: dict[str, nn.Parameter] = {}
    for i, layer in enumerate(decoder_layers(model)):
        # a hybrid model's token mixers: attention, its other mixer, or both side by side (Falcon-H1); the MLP may
        # be several modules (Granite 4)
        attribute_here = f"{attribute}+{facts.mixer}" if component == "attention" and facts.mixer else attribute
        parts = present_parts(layer, attribute_here)
        if not parts:
            raise SafetyHeadsError(
                f"decoder layer {i} of this '{family_of(model)}' model has no '{attribute_here}' module"
            )
        for path, module in parts:
            for name, p in module.named_parameters():
                out[f"{facts.layers}.{i}.{path}.{name}"] = p
    return out


def check_swappable(
    source: nn.Module, target: nn.Module, component: str, names: tuple[str, str] = ("BASE", "ALIGNED")
) -> None:
    """Refuse, saying why, unless ``source``'s component fits into ``target`` parameter for parameter."""
    a, b = names
    fa, fb = family_of(source), family_of(target)
    if fa != fb:
        raise SafetyHeadsError(
            f"cannot swap: {a} is a '{fa}' model and {b} a '{fb}' model; the architectures must match"
        )
    sa, sb = model_shape(source), model_shape(target)
    if sa.n_layers != sb.n_layers:
        raise SafetyHeadsError(
            f"cannot swap: {a} has {sa.n_layers} decoder layers and {b} {sb.n_layers}; the architectures must match"
        )
    if sa.hidden_size != sb.hidden_size:
        raise SafetyHeadsError(
            f"cannot swap: {a} has hidden size {sa.hidden_size} and {b} {sb.hidden_size}; the architectures must match"
        )
    if component == "attention":
        geometry = ("n_heads", "n_kv_heads", "head_dim")
        for attr in geometry:
            if getattr(sa, attr) != getattr(sb, attr):
                raise SafetyHeadsError(
                    f"cannot swap attention: {a} has {attr}={getattr(sa, attr)} and {b} {getattr(sb, attr)}"
                )
    pa, pb = component_parameters(source, component), component_parameters(target, component)
    if set(pa) != set(pb):
        only = sorted(set(pa) ^ set(pb))[0]
        where = a if only in pa else b
        raise SafetyHeadsError(f"cannot swap {component}: only {where} has the parameter {only}")
    for name in pa:
        if pa[name].shape != pb[name].shape:
            raise SafetyHeadsError(
                f"cannot swap {component}: {name} is {tuple(pa[name].shape)} in {a} and {tuple(pb[name].shape)} in {b}"
            )


@torch.no_grad()
def swap_component(source: nn.Module, target: nn.Module, component: str) -> list[str]:
    """Copy ``source``'s component into ``target`` in place (cast to ``target``'s dtype). Returns the names."""
    check_swappable(source, target, component)
    pa, pb = component_parameters(source, component), component_parameters(target, component)
    for name, p in pb.items():
        p.copy_(pa[name].to(device=p.device, dtype=p.dtype))
    return sorted(pb)


def save_swapped(model: nn.Module, tokenizer, out: str | Path, record: dict) -> Path:
    """Save the swapped model (safetensors, config with ``record`` under ``safetyheads_swap``, tokenizer)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return save_with_record(model, tokenizer, out, CONFIG_KEY, record)


def saved_swap(path: str | Path) -> dict | None:
    """The swap record of a saved directory's config (None when it was not made by ``swap``)."""
    return json.loads((Path(path) / "config.json").read_text()).get(CONFIG_KEY)
