"""The naive reference: one plain forward pass per ablation, no attention wrapper.

Ablations are applied by editing a projection's weights (restored afterwards) or,
where weights cannot express them (q/k-norm models, mean ablation), by a forward
hook that scales or replaces the query/key right where the model computes it.
Tests and benchmarks compare the fast engine against this.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

import torch
from torch import nn

from safetyheads.core.engine import kl_divergence
from safetyheads.core.families import (
    QKVLayout,
    attention_modules,
    facts_for,
    final_norm,
    layer_head_dim,
    model_shape,
    projection,
)
from safetyheads.core.weights import qk_projection, scale_head_output, scale_query_or_key
from safetyheads.types import AblationKind, AblationSpec, Head


@contextmanager
def _restoring(params: Iterable[torch.Tensor]) -> Iterator[None]:
    saved = [(p, p.detach().clone()) for p in params]
    try:
        yield
    finally:
        with torch.no_grad():
            for p, copy in saved:
                p.copy_(copy)


def _head_view(out: torch.Tensor, layout: str, n_heads: int, head_dim: int) -> torch.Tensor:
    """A (..., n_heads, head_dim) view of the query/key heads in ``out``, heads on dim -2."""
    if layout == "bhtd":
        return out.transpose(1, 2)
    if layout == "bthd":
        return out
    return out.view(*out.shape[:-1], n_heads, head_dim)


def _edit_heads(view: torch.Tensor, heads: Sequence[int], kind: AblationKind, eps: float) -> None:
    if kind is AblationKind.MEAN:
        mean = view.mean(dim=-2)
        for h in heads:
            view[..., h, :] = mean
    else:
        for h in heads:
            view[..., h, :] *= eps


def _hook(module: nn.Module, fn, every: int = 1, at: int = 0) -> object:
    """A forward hook applying ``fn`` to a copy of the output, on the calls ``at``, ``at + every``, ..."""
    calls = itertools.count()

    def hook(_m, _inputs, output):
        if next(calls) % every != at:
            return None
        out = output.clone()
        fn(out)
        return out

    return module.register_forward_hook(hook)


def _scaling_latent_keys(attn: nn.Module, method: str, heads: Sequence[int], eps: float) -> Callable[[], None]:
    """Latent attention's keys share a rotary part across heads, so no weight edit scales one head's key: wrap the
    module's method that returns (keys, values) per head, (B, heads, T, d), and scale there. Returns the undo."""
    inner = getattr(attn, method)

    def wrapped(*args, **kwargs):
        keys, values = inner(*args, **kwargs)
        keys = keys.clone()
        _edit_heads(keys.transpose(1, 2), heads, AblationKind.UA_K, eps)
        return keys, values

    setattr(attn, method, wrapped)
    return lambda: delattr(attn, method)


@contextmanager
def naive_ablation(model: nn.Module, heads: Iterable[Head], spec: AblationSpec) -> Iterator[None]:
    """Apply ``heads`` the plain way: weight edits or projection-output hooks."""
    facts, shape = facts_for(model), model_shape(model)
    attns = attention_modules(model)
    kind, eps = spec.kind, spec.epsilon
    by_layer: dict[int, list[int]] = {}
    for h in heads:
        by_layer.setdefault(h.layer, []).append(h.head)
    with ExitStack() as stack:
        for layer, hs in by_layer.items():
            attn = attns[layer]
            which = "k" if kind is AblationKind.UA_K else "q"
            n = shape.n_kv_heads if which == "k" else shape.n_heads
            if kind in (AblationKind.SC, AblationKind.ZERO):
                stack.enter_context(_restoring(getattr(attn, facts.out).parameters()))
                for h in hs:
                    scale_head_output(model, layer, h, 0.0 if kind is AblationKind.ZERO else eps)
            elif facts.qk_norm and hasattr(attn, facts.qk_norm_names[0]):
                names = facts.qk_norm_names
                norm = getattr(attn, names["qk".index(which)])
                edit = lambda out, hs=hs, n=n, d=layer_head_dim(model, layer): _edit_heads(  # noqa: E731
                    _head_view(out, facts.qk_norm, n, d), hs, kind, eps
                )
                # one norm for both (Llama 4) is called on the query, then on the key
                every, at = (2, "qk".index(which)) if names[0] == names[1] else (1, 0)
                stack.callback(_hook(norm, edit, every, at).remove)
            elif kind is AblationKind.MEAN:
                stack.callback(_hook(projection(attn, facts.qkv), _mean_on_projection(facts.layout, shape, hs)).remove)
            elif which == "k" and facts.layout is QKVLayout.LATENT:
                stack.callback(_scaling_latent_keys(attn, facts.keys_from, hs, eps))
            else:
                stack.enter_context(_restoring(qk_projection(model, layer, which).parameters()))
                for h in hs:
                    scale_query_or_key(model, layer, h, which, eps)
        yield


def _mean_on_projection(layout: QKVLayout, shape, heads: Sequence[int]):
    d, n = shape.head_dim, shape.n_heads

    def edit(out: torch.Tensor) -> None:
        if layout is QKVLayout.INTERLEAVED:
            view = out.view(*out.shape[:-1], n, 3 * d)[..., :d]
        else:
            view = out[..., : n * d].view(*out.shape[:-1], n, d)
        _edit_heads(view, heads, AblationKind.MEAN, 0.0)

    return edit


@torch.no_grad()
def naive_last_logprobs(model: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=input_ids, use_cache=False).logits[0, -1]
    return logits.double().log_softmax(-1)


@torch.no_grad()
def naive_final_hidden(model: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    store: list[torch.Tensor] = []
    handle = final_norm(model).register_forward_hook(lambda _m, _i, o: store.append(o[0, -1].float()))
    try:
        model(input_ids=input_ids, use_cache=False)
    finally:
        handle.remove()
    return store[-1]


def naive_ships(
    model: nn.Module, input_ids: torch.Tensor, heads: Sequence[Head], spec: AblationSpec
) -> dict[Head, float]:
    """Ships by one full forward per head."""
    base = naive_last_logprobs(model, input_ids)
    scores = {}
    for h in heads:
        with naive_ablation(model, [h], spec):
            scores[h] = float(kl_divergence(base, naive_last_logprobs(model, input_ids)))
    return scores
