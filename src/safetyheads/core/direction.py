"""The refusal direction (Arditi et al., 2024): difference of means, saved, ablated at run time or in weights.

A candidate direction for every decoder layer: the mean residual stream after that layer, at the last prompt
position, over harmful prompts, minus the same over harmless prompts. :mod:`safetyheads.study.direction_search`
chooses the layer on held-apart prompts. Ablating the chosen direction removes it from the residual stream
everywhere: at run time with :func:`safetyheads.core.ablation.without_direction`; in the weights with :func:`bake`,
which projects it out of every matrix that writes to the residual stream (the embeddings, each attention output
projection and each MLP output projection, with their biases), so a saved model behaves as the run-time
ablation does.

A direction is saved as a directory: ``direction.safetensors`` (``direction``, the chosen unit vector, and
``candidates``, every layer's unnormalised difference of means) and ``direction.json`` (the chosen layer,
the model, the prompt sets and, when a layer was chosen by search, every layer's measurements).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from safetyheads.core.ablation import ablated, without_direction
from safetyheads.core.engine import Engine
from safetyheads.core.families import (
    FamilyFacts,
    decoder_layers,
    facts_for,
    family_of,
    get_path,
    model_shape,
    present_parts,
    residual_writes,
)
from safetyheads.types import SafetyHeadsError

TENSORS, META = "direction.safetensors", "direction.json"
CONFIG_KEY = "safetyheads_direction"


@dataclass
class RefusalDirection:
    """A chosen direction and the candidates it was chosen from (one per layer, after that layer)."""

    vector: torch.Tensor  # (hidden,), unit length
    layer: int  # the decoder layer after which it was taken (0-based)
    candidates: torch.Tensor  # (n_layers, hidden), difference of means, not normalised
    info: dict = field(default_factory=dict)  # model, prompt sets, the layer search's measurements

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {"direction": self.vector.float().contiguous(), "candidates": self.candidates.float().contiguous()}
        save_file(tensors, str(out / TENSORS))
        meta = {"layer": self.layer, "hidden_size": int(self.vector.numel()), **self.info}
        (out / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: str | Path) -> RefusalDirection:
        path = Path(path)
        if not (path / TENSORS).is_file() or not (path / META).is_file():
            raise SafetyHeadsError(f"{path} is not a direction directory (made by `safetyheads direction`)")
        tensors = load_file(str(path / TENSORS))
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        layer = int(meta.pop("layer"))
        meta.pop("hidden_size", None)
        return cls(tensors["direction"], layer, tensors["candidates"], meta)

    def check_fits(self, model: nn.Module) -> None:
        """Refuse a direction taken from a model with another residual-stream width."""
        hidden = model_shape(model).hidden_size
        if self.vector.numel() != hidden:
            raise SafetyHeadsError(
                f"this direction has {self.vector.numel()} dimensions but the model's residual stream has {hidden}"
                f" (it was taken from {self.info.get('model', 'another model')})"
            )

    def digest(self) -> str:
        """A short fingerprint of the vector (what a run records about the direction it ablated)."""
        return hashlib.sha256(self.vector.float().contiguous().numpy().tobytes()).hexdigest()[:16]

    def describe(self) -> dict:
        return {"layer": self.layer, "digest": self.digest(), "model": self.info.get("model")}

    def with_layer(self, layer: int) -> RefusalDirection:
        """The candidate of ``layer`` as the chosen direction."""
        if not 0 <= layer < self.candidates.shape[0]:
            raise SafetyHeadsError(f"layer {layer} is outside 0..{self.candidates.shape[0] - 1}")
        return RefusalDirection(unit(self.candidates[layer]), layer, self.candidates, dict(self.info))


@contextmanager
def maybe_without(model: nn.Module, direction: RefusalDirection | None) -> Iterator[None]:
    """Directional ablation of ``direction`` for the block (checked against the model); nothing when None."""
    if direction is None:
        yield
        return
    direction.check_fits(model)
    with without_direction(model, direction.vector):
        yield


@contextmanager
def intervention(
    model: nn.Module, heads: Sequence = (), spec=None, direction: RefusalDirection | None = None
) -> Iterator[None]:
    """Heads ablated (``ablation.ablated``) and/or the refusal direction ablated, for the block."""
    with maybe_without(model, direction):
        if heads:
            with ablated(model, heads, spec):
                yield
        else:
            yield


def unit(v: torch.Tensor) -> torch.Tensor:
    norm = float(v.double().norm())
    if not norm > 0.0:
        raise SafetyHeadsError("the difference of means is zero: the harmful and harmless prompts look alike")
    return (v.double() / norm).float()


@torch.no_grad()
def last_position_activations(
    model: nn.Module, prompts: Sequence[torch.Tensor], advance: Callable[[int], None] | None = None
) -> torch.Tensor:
    """The residual stream after every decoder layer at each prompt's last position: (N, n_layers, hidden)."""
    engine = Engine(model)
    rows = []
    for ids in prompts:
        cap = engine.capture(torch.as_tensor(ids).reshape(1, -1))
        rows.append(torch.stack([out[0, -1].double().cpu() for out in cap.layer_outputs]))
        if advance is not None:
            advance(1)
    return torch.stack(rows)


def difference_of_means(
    model: nn.Module,
    harmful: Sequence[torch.Tensor],
    harmless: Sequence[torch.Tensor],
    advance: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Mean activation over ``harmful`` minus mean over ``harmless`` (tokenised prompts): (n_layers, hidden)."""
    if not harmful or not harmless:
        raise SafetyHeadsError("the difference of means needs at least one harmful and one harmless prompt")
    a = last_position_activations(model, harmful, advance).mean(0)
    b = last_position_activations(model, harmless, advance).mean(0)
    return (a - b).float()


# ------------------------------------------------------------------------------------------------ weights


def _embeddings(model: nn.Module) -> list[nn.Embedding]:
    """Every embedding table that adds to the residual stream (tokens, and learned positions where there are)."""
    hidden = model_shape(model).hidden_size
    return [m for m in model.modules() if isinstance(m, nn.Embedding) and m.embedding_dim == hidden]


def _is_conv1d(module: nn.Module) -> bool:
    return type(module).__name__ == "Conv1D"


def _expert_block_writes(
    model: nn.Module, facts: FamilyFacts, layer: nn.Module, index: int
) -> list[tuple[nn.Parameter, int]]:
    """The parameters that write a mixture-of-experts layer's MLP output (``FamilyFacts.expert_writes``), or a
    dense layer's linear write where the model mixes both (``FamilyFacts.dense_mlp_write``)."""
    missing = [path for path, _ in facts.expert_writes if not present_parts(layer, path)]
    if not missing:
        return [(get_path(layer, path), axis) for path, axis in facts.expert_writes]
    dense = next((module for _, module in present_parts(layer, facts.dense_mlp_write)), None)
    if isinstance(dense, nn.Linear):
        return [(dense.weight, 0)] + ([(dense.bias, 0)] if dense.bias is not None else [])
    raise SafetyHeadsError(
        f"direction ablation cannot be baked into this '{family_of(model)}' model: layer {index} has no "
        f"{missing[0]} and no dense MLP write (quantised experts?); ablate it at run time instead (eval --direction)"
    )


def _written_params(model: nn.Module) -> list[tuple[nn.Parameter, int]]:
    """Every parameter that writes to the residual stream after a sublayer, each with the axis that holds
    residual-stream features: linear and Conv1D output projections, and an expert block's stacked projections
    (``FamilyFacts.expert_writes``). Refuses models where no weight edit removes a direction (norms after each
    sublayer) and expert blocks the table does not describe."""
    facts = facts_for(model)
    found: list[tuple[nn.Parameter, int]] = []
    for index, (layer, writes) in enumerate(zip(decoder_layers(model), residual_writes(model), strict=True)):
        for m in writes:
            if isinstance(m, nn.Linear) or _is_conv1d(m):
                found.append((m.weight, 1 if _is_conv1d(m) else 0))  # Conv1D is (in, out), a linear (out, in)
                if getattr(m, "bias", None) is not None:
                    found.append((m.bias, 0))
            elif m is not writes[0] and facts.expert_writes and "norm" not in type(m).__name__.lower():
                found += _expert_block_writes(model, facts, layer, index)
            else:
                why = (
                    f"its layers normalise each sublayer's output ({type(m).__name__}) before adding it to the "
                    "residual stream"
                    if "norm" in type(m).__name__.lower()
                    else f"its MLP ({type(m).__name__}) is not one linear write"
                )
                raise SafetyHeadsError(
                    f"direction ablation cannot be baked into a '{family_of(model)}' model: {why}, so no weight "
                    "edit here removes the direction; ablate it at run time instead (eval --direction)"
                )
    return found


def check_bakeable_direction(model: nn.Module) -> None:
    """Refuse models whose residual writes no weight edit can rid of a direction (see :func:`_written_params`)."""
    _written_params(model)


def _untie_output(model: nn.Module) -> None:
    """Give the output embedding its own copy when it shares the input embedding's weights."""
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if out is not None and out.weight is inp.weight:
        out.weight = nn.Parameter(inp.weight.detach().clone())
        model.config.tie_word_embeddings = False
        text = getattr(model.config, "text_config", None)
        if text is not None:
            text.tie_word_embeddings = False


@torch.no_grad()
def bake(model: nn.Module, direction: torch.Tensor) -> int:
    """Project ``direction`` out of every residual-stream write in ``model``'s weights, in place.

    Unties tied input and output embeddings first (the output side reads the stream and keeps its weights).
    Returns the number of parameters edited.
    """
    check_bakeable_direction(model)
    r = unit(direction.reshape(-1))
    if r.numel() != model_shape(model).hidden_size:
        raise SafetyHeadsError("the direction does not match the model's residual-stream width")
    _untie_output(model)
    edited = 0
    for p, axis in [*((e.weight, 1) for e in _embeddings(model)), *_written_params(model)]:
        features = p.movedim(axis, -1)  # a view: features last, so each row is a vector in the stream
        features -= (features @ r.to(p))[..., None] * r.to(p)
        edited += p.numel()
    return edited


@contextmanager
def baked_direction(model: nn.Module, direction: torch.Tensor) -> Iterator[int]:
    """The direction baked into ``model``'s weights for the block; the original weights (and tying) after."""
    check_bakeable_direction(model)
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    tied = out is not None and out.weight is inp.weight
    params = {id(p): p for p in [*(e.weight for e in _embeddings(model)), *(p for p, _ in _written_params(model))]}
    saved = [(p, p.detach().clone()) for p in params.values()]
    tie_flag = getattr(model.config, "tie_word_embeddings", None)
    try:
        yield bake(model, direction)
    finally:
        with torch.no_grad():
            for p, copy in saved:
                p.copy_(copy)
        if tied:
            out.weight = inp.weight
            model.config.tie_word_embeddings = tie_flag


def parameter_budget(model: nn.Module) -> dict:
    """What direction ablation costs in parameters: one vector of the residual width, and the matrices it edits."""
    total = sum(p.numel() for p in model.parameters())
    hidden = model_shape(model).hidden_size
    edited = sum(e.weight.numel() for e in _embeddings(model))
    try:
        edited += sum(p.numel() for p, _ in _written_params(model))
    except SafetyHeadsError:  # not bakeable (norms after the sublayers): the parameters of the writes themselves
        edited += sum(p.numel() for ws in residual_writes(model) for m in ws for p in m.parameters(recurse=False))
    return {
        "free_parameters": hidden,
        "free_share": hidden / total,
        "edited_parameters": edited,
        "edited_share": edited / total,
        "total_parameters": total,
    }


def record(direction: RefusalDirection, source: str | None = None) -> dict:
    """What a saved model's config records about the direction baked into it."""
    keep = ("model", "harmful", "harmless", "n_harmful", "n_harmless")
    return {
        "layer": direction.layer,
        "source_model": source,
        **{k: direction.info[k] for k in keep if k in direction.info},
    }


def save_without_direction(
    model: nn.Module, tokenizer, direction: RefusalDirection, out: str | Path, source: str | None = None
) -> Path:
    """Save ``model`` with ``direction`` baked out of its weights (a standard Hugging Face directory).

    The model itself is left as it was; the saved config records the direction under ``safetyheads_direction``.
    """
    from safetyheads.core.surgery import save_with_record

    check_bakeable_direction(model)
    direction.check_fits(model)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with baked_direction(model, direction.vector):
        save_with_record(model, tokenizer, out, CONFIG_KEY, record(direction, source))
    return out
