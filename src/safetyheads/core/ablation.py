"""Runtime head ablation through transformers' attention interface.

``install(model)`` registers an attention function that wraps the model's sdpa
(or eager) attention and points the model at it. The wrapper sees the query and
key *after* any q/k normalisation and position encoding, exactly what attention
uses, so one implementation serves every family. It reads a per-batch-row
``AblationPlan`` from the model's state: each row of a batch may ablate its own
set of heads, so many ablations run in one forward pass.

Use ``ablated(model, heads, spec)`` for the common case of one head set applied
to every row (generation, evaluation), and ``AblationPlan`` directly for sweeps.

``without_direction(model, r)`` is the other runtime intervention: directional ablation (Arditi et al., 2024).
The unit vector ``r`` is projected out of the first decoder layer's input and out of every write to the
residual stream (each layer's attention and MLP outputs, ``families.residual_writes``), so no layer reads or
writes along ``r``. It combines with head ablation.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, eager_mask, sdpa_mask

from safetyheads.core.families import attention_modules, decoder_layers, model_shape, residual_writes
from safetyheads.core.heads import validate_heads
from safetyheads.types import AblationKind, AblationSpec, Head, ModelShape

_IMPL_PREFIX = "safetyheads_"
_BASES = {"sdpa": sdpa_mask, "eager": eager_mask}


@dataclass
class LayerPlan:
    """Per-row multipliers for one layer; ``None`` means untouched."""

    q_scale: torch.Tensor | None = None  # (B, n_heads)
    k_scale: torch.Tensor | None = None  # (B, n_kv_heads)
    out_scale: torch.Tensor | None = None  # (B, n_heads)
    mean_mask: torch.Tensor | None = None  # (B, n_heads) bool

    def placed_like(self, like: torch.Tensor) -> LayerPlan:
        """A copy with the multipliers on ``like``'s device and dtype (the mask on its device)."""

        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            if t is None:
                return None
            return t.to(device=like.device, dtype=torch.bool if t.dtype == torch.bool else like.dtype)

        return LayerPlan(move(self.q_scale), move(self.k_scale), move(self.out_scale), move(self.mean_mask))


@dataclass
class AblationPlan:
    """Which heads each batch row ablates. A plan with one row applies to every row."""

    rows: list[tuple[Head, ...]]
    spec: AblationSpec
    shape: ModelShape
    layers: dict[int, LayerPlan] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Sequence[Iterable[Head]], spec: AblationSpec, shape: ModelShape) -> AblationPlan:
        frozen = [tuple(validate_heads(r, shape, spec)) for r in rows]
        plan = cls(rows=frozen, spec=spec, shape=shape)
        n_rows = len(frozen)
        kind = spec.kind
        width = shape.n_kv_heads if kind is AblationKind.UA_K else shape.n_heads
        fill = {AblationKind.ZERO: 0.0}.get(kind, spec.epsilon)
        touched: dict[int, torch.Tensor] = {}
        for r, heads in enumerate(frozen):
            for h in heads:
                if h.layer not in touched:
                    init = False if kind is AblationKind.MEAN else 1.0
                    dtype = torch.bool if kind is AblationKind.MEAN else torch.float32
                    touched[h.layer] = torch.full((n_rows, width), init, dtype=dtype)
                touched[h.layer][r, h.head] = True if kind is AblationKind.MEAN else fill
        for layer, t in touched.items():
            lp = LayerPlan()
            if kind is AblationKind.UA_Q:
                lp.q_scale = t
            elif kind is AblationKind.UA_K:
                lp.k_scale = t
            elif kind in (AblationKind.SC, AblationKind.ZERO):
                lp.out_scale = t
            else:
                lp.mean_mask = t
            plan.layers[layer] = lp
        return plan

    def placed(self, model: nn.Module) -> AblationPlan:
        """This plan with each layer's tensors on that layer's device and dtype: copied once per batch here, never
        inside the attention calls (a model split over devices gets each layer's tensors where the layer runs)."""
        modules = attention_modules(model)
        layers = {layer: lp.placed_like(next(modules[layer].parameters())) for layer, lp in self.layers.items()}
        return AblationPlan(rows=self.rows, spec=self.spec, shape=self.shape, layers=layers)

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def first_layer(self) -> int:
        return min(self.layers) if self.layers else self.shape.n_layers


@dataclass
class LayerSkip:
    """Skip layers below ``start``: layer ``start - 1`` returns cached outputs instead of computing."""

    start: int
    cached: list[torch.Tensor]  # output of every layer from a capture run, (B0, T, d)
    source_rows: torch.Tensor | None = None  # which cached row feeds each batch row; None = row 0 for all


@dataclass
class _State:
    plan: AblationPlan | None = None
    skip: LayerSkip | None = None
    capture: list[torch.Tensor | None] | None = None
    final_hidden: torch.Tensor | None = None
    base_impl: str = "sdpa"
    user_impl: str = "sdpa"  # the implementation the model had before install (``uninstall`` restores it)
    direction: torch.Tensor | None = None  # unit vector projected out of the residual stream (None: off)
    tap: Tap | None = None  # screen mode (``screen.py``)
    visited: set[int] = field(default_factory=set)  # layers whose attention ran through the wrapper


def project_out(x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """``x`` with its component along the unit vector ``direction`` removed (over the last dimension)."""
    r = direction.to(device=x.device, dtype=x.dtype)
    return x - (x @ r)[..., None] * r


def _rows(t: torch.Tensor, batch: int, like: torch.Tensor) -> torch.Tensor:
    if t.device != like.device:
        raise RuntimeError(f"ablation plan on {t.device} but attention runs on {like.device}; use using_plan()")
    if t.dtype != torch.bool and t.dtype != like.dtype:
        t = t.to(like.dtype)  # a family that computes attention in another dtype than its weights
    if t.shape[0] == batch:
        return t
    if t.shape[0] == 1:
        return t.expand(batch, -1)
    raise ValueError(f"ablation plan has {t.shape[0]} rows but the batch has {batch}")


def _eager_for(module: nn.Module) -> Callable:
    fn = getattr(sys.modules[type(module).__module__], "eager_attention_forward", None)
    if fn is None:
        raise RuntimeError(f"{type(module).__name__} has no eager attention function")
    return fn


@dataclass
class Tap:
    """Screen mode (``screen.py``): per layer, each head's exact change of its attention output under ``plan``.

    In every layer the wrapper also runs the attention with ``plan`` (all heads ablated at once, one row) on the
    forward pass's own query, key and value, records ``ablated - unablated`` in ``deltas``, and adds a zero
    ``probe`` that requires grad to the output, so gradients with respect to the heads' outputs can be read off.
    """

    plan: AblationPlan
    probes: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> (B, T, n_heads, head_dim) zeros
    deltas: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> (B, T, n_heads, head_dim)


def _run_planned(inner: Callable, lp: LayerPlan, module, query, key, value, attention_mask, **kwargs):
    """The attention under one layer's plan; plan tensors are already on the model's device (``using_plan``)."""
    batch = query.shape[0]
    if lp.mean_mask is not None:
        mask = _rows(lp.mean_mask, batch, query)[:, :, None, None]
        query = torch.where(mask, query.mean(dim=1, keepdim=True), query)
    if lp.q_scale is not None:
        query = query * _rows(lp.q_scale, batch, query)[:, :, None, None]
    if lp.k_scale is not None:
        key = key * _rows(lp.k_scale, batch, key)[:, :, None, None]
    out, weights = inner(module, query, key, value, attention_mask, **kwargs)
    if lp.out_scale is not None:  # attention output is (B, T, n_heads, head_dim)
        out = out * _rows(lp.out_scale, batch, out)[:, None, :, None]
    return out, weights


def _ablating_attention(base: str) -> Callable:
    def attention(module, query, key, value, attention_mask, **kwargs):
        inner = sdpa_attention_forward if base == "sdpa" else _eager_for(module)
        state: _State | None = getattr(module, "_safetyheads_state", None)
        if state is None:
            return inner(module, query, key, value, attention_mask, **kwargs)
        layer = module._safetyheads_layer
        state.visited.add(layer)
        plan = state.plan
        lp = plan.layers.get(layer) if plan is not None else None
        out, weights = (
            inner(module, query, key, value, attention_mask, **kwargs)
            if lp is None
            else _run_planned(inner, lp, module, query, key, value, attention_mask, **kwargs)
        )
        if state.tap is not None:
            if plan is not None:
                raise RuntimeError("the screen's tap cannot run under an ablation plan")
            with torch.no_grad():
                tap_lp = state.tap.plan.layers[layer]
                ablated, _ = _run_planned(inner, tap_lp, module, query, key, value, attention_mask, **kwargs)
            probe = torch.zeros_like(out, requires_grad=True)
            state.tap.probes[layer] = probe
            state.tap.deltas[layer] = (ablated - out).detach()
            out = out + probe
        return out, weights

    return attention


for _base, _mask in _BASES.items():
    AttentionInterface.register(_IMPL_PREFIX + _base, _ablating_attention(_base))
    AttentionMaskInterface.register(_IMPL_PREFIX + _base, _mask)


def _layer_forward(layer: nn.Module, hidden_states, *args, **kwargs):
    """A decoder layer's forward with layer reuse; bound to the layer so that deep copies rebind it."""
    state: _State = layer._safetyheads_state
    idx: int = layer._safetyheads_index
    skip = state.skip
    if state.direction is not None:
        if skip is not None:
            raise RuntimeError("direction ablation cannot run with layer reuse (the cached layers did not ablate)")
        if idx == 0:
            hidden_states = project_out(hidden_states, state.direction)
    if skip is not None and idx < skip.start:
        if idx < skip.start - 1:
            return _as_layer_output(layer, hidden_states)
        cached = skip.cached[idx]
        if skip.source_rows is None:
            return _as_layer_output(layer, cached[:1].expand(hidden_states.shape[0], *cached.shape[1:]))
        return _as_layer_output(layer, cached.index_select(0, skip.source_rows.to(cached.device)))
    out = type(layer).forward(layer, hidden_states, *args, **kwargs)
    layer._safetyheads_arity = 0 if isinstance(out, torch.Tensor) else len(out)
    if state.direction is not None:
        out = project_out(out, state.direction) if isinstance(out, torch.Tensor) else _first(out, state.direction)
    if state.capture is not None:
        state.capture[idx] = out if isinstance(out, torch.Tensor) else out[0]
    return out


def _as_layer_output(layer: nn.Module, hidden: torch.Tensor):
    """A skipped layer's result in the form its own forward returns: the hidden states, or (as some families'
    layers return) a tuple led by them, the rest None. The capturing forward, which runs every layer, records it."""
    arity = getattr(layer, "_safetyheads_arity", 0)
    return hidden if arity == 0 else (hidden, *[None] * (arity - 1))


def _first(out: tuple, direction: torch.Tensor) -> tuple:
    return (project_out(out[0], direction), *out[1:])


def _write_hook(module: nn.Module, args, out):
    """Forward hook on a residual write: projects the direction out when one is set (reads the module's state,
    so deep copies of the model use their own)."""
    direction = module._safetyheads_state.direction
    if direction is None:
        return None
    return project_out(out, direction) if isinstance(out, torch.Tensor) else _first(out, direction)


def _wrap_layer(layer: nn.Module, idx: int, state: _State) -> None:
    layer._safetyheads_state = state
    layer._safetyheads_index = idx
    layer.forward = types.MethodType(_layer_forward, layer)


def _current_impl(model: nn.Module) -> str:
    return getattr(model.config, "_attn_implementation", None) or "sdpa"


def _route(model: nn.Module, state: _State) -> None:
    """Point the model's attention at the wrapper around its current implementation (eager stays eager: it returns
    attention weights; every other implementation runs as sdpa under the wrapper)."""
    current = _current_impl(model)
    state.user_impl = current
    state.base_impl = "eager" if current == "eager" else "sdpa"
    model.set_attn_implementation(_IMPL_PREFIX + state.base_impl)


def _before_forward(model: nn.Module, _args) -> None:
    model._safetyheads_state.visited.clear()


def _after_forward(model: nn.Module, _args, _out) -> None:
    """Fail when an ablation was planned but the wrapper did not run on a planned layer (attention re-routed)."""
    state: _State = model._safetyheads_state
    planned: set[int] = set()
    if state.plan is not None:
        planned = set(state.plan.layers)
    if state.tap is not None:
        planned |= set(state.tap.plan.layers)
    if state.skip is not None:
        planned = {layer for layer in planned if layer >= state.skip.start}
    missing = sorted(planned - state.visited)
    if missing:
        raise RuntimeError(
            f"the ablation did not run on layers {missing}: this model's attention no longer goes through "
            f"safetyheads (implementation now '{_current_impl(model)}'). Call safetyheads.core.ablation.install(model) "
            "after changing the attention implementation (ablated() and the engine do)."
        )


def install(model: nn.Module) -> _State:
    """Make ``model`` ablatable; returns its ablation state.

    Called again (``ablated``, ``using_plan`` and the engine do), it re-routes a model whose attention
    implementation was changed since (``model.set_attn_implementation("eager")`` to read attention maps, say), so
    an ablation cannot silently stop applying. ``uninstall`` restores the user's own implementation.
    """
    state = getattr(model, "_safetyheads_state", None)
    if state is not None:
        if _current_impl(model) != _IMPL_PREFIX + state.base_impl:
            _route(model, state)
        return state
    shape = model_shape(model)
    state = _State()
    layers = decoder_layers(model)
    if len(layers) != shape.n_layers:
        raise RuntimeError(f"found {len(layers)} decoder layers but the config says {shape.n_layers}")
    for idx, (layer, attn) in enumerate(zip(layers, attention_modules(model), strict=True)):
        if attn is not None:  # None: a hybrid model's layer without softmax attention (no heads to ablate)
            attn._safetyheads_layer = idx
            attn._safetyheads_state = state
        _wrap_layer(layer, idx, state)
    for writes in residual_writes(model):
        for module in writes:
            module._safetyheads_state = state
            module.register_forward_hook(_write_hook)
    model.register_forward_pre_hook(_before_forward)
    model.register_forward_hook(_after_forward)
    model._safetyheads_state = state
    _route(model, state)
    return state


def uninstall(model: nn.Module) -> None:
    """Undo ``install``: the layers' own forwards, no hooks, and the attention implementation the model had."""
    state: _State | None = getattr(model, "_safetyheads_state", None)
    if state is None:
        return
    if state.plan is not None or state.tap is not None or state.direction is not None:
        raise RuntimeError("uninstall() inside an ablation; leave the ablation's block first")
    ours = (_write_hook, _before_forward, _after_forward)
    for module in model.modules():  # by function, so that a deep copy's hooks go too
        for hooks in (module._forward_hooks, module._forward_pre_hooks):
            for key in [k for k, fn in hooks.items() if fn in ours]:
                del hooks[key]
    for layer, attn in zip(decoder_layers(model), attention_modules(model), strict=True):
        for attr in ("_safetyheads_state", "_safetyheads_index", "_safetyheads_arity"):
            layer.__dict__.pop(attr, None)
        layer.__dict__.pop("forward", None)
        for attr in ("_safetyheads_state", "_safetyheads_layer"):
            if attn is not None:
                attn.__dict__.pop(attr, None)
    for writes in residual_writes(model):
        for module in writes:
            module.__dict__.pop("_safetyheads_state", None)
    del model._safetyheads_state
    model.set_attn_implementation(state.user_impl)


@contextmanager
def using_plan(model: nn.Module, plan: AblationPlan | None, skip: LayerSkip | None = None) -> Iterator[_State]:
    """Run forwards under ``plan`` (per-row ablations) and optionally ``skip`` (layer reuse)."""
    state = install(model)
    previous = (state.plan, state.skip)
    state.plan, state.skip = (plan.placed(model) if plan is not None else None), skip
    try:
        yield state
    finally:
        state.plan, state.skip = previous


@contextmanager
def ablated(model: nn.Module, heads: Iterable[Head], spec: AblationSpec | None = None) -> Iterator[AblationPlan]:
    """Ablate the same heads in every batch row for the duration of the block."""
    spec = spec or AblationSpec()
    plan = AblationPlan.build([tuple(heads)], spec, model_shape(model))
    with using_plan(model, plan if plan.layers else None):
        yield plan


@contextmanager
def without_direction(model: nn.Module, direction: torch.Tensor) -> Iterator[None]:
    """Directional ablation of ``direction`` (any length; normalised here) for the duration of the block."""
    shape = model_shape(model)
    r = direction.detach().reshape(-1).double()
    if r.numel() != shape.hidden_size:
        raise ValueError(
            f"the direction has {r.numel()} dimensions but the model's residual stream has {shape.hidden_size}"
        )
    norm = float(r.norm())
    if not norm > 0.0 or norm != norm:
        raise ValueError("the direction is zero or not finite")
    state = install(model)
    previous = state.direction
    state.direction = (r / norm).float()
    try:
        yield
    finally:
        state.direction = previous
