"""Parsing and validating head names: "2-26", "2.26", "L2H26", comma-separated lists."""

from __future__ import annotations

import re
from collections.abc import Iterable

from safetyheads.types import AblationSpec, Head, ModelShape, SafetyHeadsError

_PATTERNS = (
    re.compile(r"^(\d+)[-.](\d+)$"),
    re.compile(r"^[Ll](\d+)[Hh](\d+)$"),
)


def parse_head(text: str) -> Head:
    token = text.strip()
    for pattern in _PATTERNS:
        match = pattern.match(token)
        if match:
            return Head(int(match.group(1)), int(match.group(2)))
    raise SafetyHeadsError(f"cannot read head '{text}': write it as LAYER-HEAD (2-26), LAYER.HEAD (2.26) or L2H26")


def parse_heads(spec: str | Iterable[str | Head | tuple[int, int]] | None) -> list[Head]:
    """Parse a head spec into a sorted, de-duplicated list of heads."""
    if spec is None:
        return []
    items: Iterable
    if isinstance(spec, str):
        items = [s for s in spec.split(",") if s.strip()]
    else:
        items = spec
    heads = set()
    for item in items:
        if isinstance(item, Head):
            heads.add(item)
        elif isinstance(item, str):
            heads.add(parse_head(item))
        else:
            layer, head = item
            heads.add(Head(int(layer), int(head)))
    return sorted(heads)


def validate_heads(heads: Iterable[Head], shape: ModelShape, spec: AblationSpec | None = None) -> list[Head]:
    """Reject heads outside the model, naming the model's layer and head counts."""
    per_layer = shape.heads_per_layer(spec)
    unit = "key heads" if spec is not None and spec.kind.acts_on_key_heads and shape.uses_gqa else "heads"
    out = list(heads)
    for h in out:
        if not (0 <= h.layer < shape.n_layers) or not (0 <= h.head < per_layer):
            raise SafetyHeadsError(
                f"head {h} is out of range: this model has {shape.n_layers} layers (0-{shape.n_layers - 1}) "
                f"and {per_layer} {unit} per layer (0-{per_layer - 1})"
            )
        if not shape.has_heads(h.layer):
            layers = ", ".join(map(str, shape.attention_layers or ()))
            raise SafetyHeadsError(
                f"head {h}: layer {h.layer} of this model has no attention heads (it mixes tokens another way, "
                f"e.g. linear attention); its heads are on layers {layers}"
            )
    return out


def format_heads(heads: Iterable[Head]) -> str:
    return ",".join(str(h) for h in heads)


def describe_unit(head: Head, shape: ModelShape, spec: AblationSpec) -> str:
    """Human-readable name of what an ablation of ``head`` touches (names the GQA group for ua-k)."""
    if spec.kind.acts_on_key_heads and shape.uses_gqa:
        q = shape.query_heads_of_key_head(head.head)
        return f"{head} (key head {head.head}: query heads {q[0]}-{q[-1]} of layer {head.layer})"
    return str(head)
