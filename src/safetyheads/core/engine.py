"""The fast sweep engine: batched per-row ablations with layer reuse.

For one prompt, a *capture* forward records every decoder layer's output under a
fixed head group G (empty for plain Ships). Any ablation G + {h} cannot change
the layers below ``h.layer``, so each batch of candidate rows skips straight to
the lowest ablated layer of the batch, fed from the captured outputs. Only the
last position's logits are computed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from safetyheads.core.ablation import AblationPlan, LayerSkip, install, using_plan
from safetyheads.core.families import final_norm, model_shape, shares_kv
from safetyheads.types import AblationSpec, Head

CPU_TOKENS_PER_BATCH = 2048
MAX_AUTO_ROWS = 64


@dataclass
class Capture:
    """The unablated-by-candidates state of one prompt under a fixed group."""

    input_ids: torch.Tensor  # (1, T)
    group: tuple[Head, ...]
    layer_outputs: list[torch.Tensor]  # each (1, T, d)
    logprobs: torch.Tensor  # (V,) float64, last position
    hidden: torch.Tensor  # (d,) float32, last position after the final norm


@dataclass
class RowOutputs:
    logprobs: torch.Tensor  # (B, V) float64
    hidden: torch.Tensor  # (B, d) float32


@contextmanager
def _final_hidden(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    store: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        out = output if isinstance(output, torch.Tensor) else output[0]
        store.append(out[:, -1].detach().float())

    handle = final_norm(model).register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


def auto_batch_size(model: nn.Module, seq_len: int) -> int:
    """Rows per forward: a token budget on CPU, free memory on CUDA."""
    device = next(model.parameters()).device
    shape = model_shape(model)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        bytes_per_el = next(model.parameters()).element_size()
        # activations of one row, one layer at a time, with generous headroom
        per_row = seq_len * (shape.hidden_size * 16 + shape.n_heads * seq_len * 2) * bytes_per_el
        per_row += shape.vocab_size * 8
        rows = int(free * 0.5 // max(per_row, 1))
        return max(1, min(rows, 512))
    return max(1, min(MAX_AUTO_ROWS, CPU_TOKENS_PER_BATCH // max(seq_len, 1)))


class Engine:
    """Runs ablated forwards for sweeps. One instance per (model, ablation spec)."""

    def __init__(self, model: nn.Module, spec: AblationSpec | None = None, batch_size: int | None = None):
        self.model = model
        self.spec = spec or AblationSpec()
        self.shape = model_shape(model)
        self.batch_size = batch_size
        self.device = next(model.parameters()).device
        self.shares_kv = shares_kv(model)
        install(model)

    def rows_per_batch(self, seq_len: int) -> int:
        return self.batch_size or auto_batch_size(self.model, seq_len)

    @torch.no_grad()
    def _forward(self, input_ids: torch.Tensor, batch: int) -> RowOutputs:
        ids = input_ids.to(self.device).expand(batch, -1)
        with _final_hidden(self.model) as hidden:
            out = self.model(input_ids=ids, use_cache=False, logits_to_keep=1)
        logprobs = out.logits[:, -1].double().log_softmax(dim=-1)
        return RowOutputs(logprobs=logprobs.cpu(), hidden=hidden[-1].cpu())

    @torch.no_grad()
    def capture(self, input_ids: torch.Tensor, group: Sequence[Head] = ()) -> Capture:
        group = tuple(group)
        plan = AblationPlan.build([group], self.spec, self.shape) if group else None
        with using_plan(self.model, plan) as state:
            state.capture = [None] * self.shape.n_layers
            try:
                out = self._forward(input_ids, 1)
                layers = list(state.capture)
            finally:
                state.capture = None
        return Capture(
            input_ids=input_ids,
            group=group,
            layer_outputs=layers,
            logprobs=out.logprobs[0],
            hidden=out.hidden[0],
        )

    @torch.no_grad()
    def run_rows(self, cap: Capture, rows: Sequence[Sequence[Head]]) -> RowOutputs:
        """One forward where row i ablates ``cap.group + rows[i]``, reusing captured layers."""
        full = [tuple(cap.group) + tuple(r) for r in rows]
        plan = AblationPlan.build(full, self.spec, self.shape)
        start = min((h.layer for r in rows for h in r), default=self.shape.n_layers)
        # a model whose upper layers read keys and values the lower ones compute runs every layer
        skip = LayerSkip(start=start, cached=cap.layer_outputs) if start > 0 and not self.shares_kv else None
        with using_plan(self.model, plan, skip):
            return self._forward(cap.input_ids, len(rows))

    def sweep(self, cap: Capture, candidates: Sequence[Head]) -> Iterator[tuple[list[Head], RowOutputs]]:
        """Yield (heads, outputs) batch by batch, each candidate ablated on top of the capture's group."""
        ordered = sorted(candidates)
        size = self.rows_per_batch(cap.input_ids.shape[-1])
        for i in range(0, len(ordered), size):
            chunk = ordered[i : i + size]
            yield chunk, self.run_rows(cap, [(h,) for h in chunk])


def kl_divergence(base_logprobs: torch.Tensor, ablated_logprobs: torch.Tensor) -> torch.Tensor:
    """KL(p_base || p_ablated) in float64 over the last dimension."""
    p = base_logprobs.double()
    q = ablated_logprobs.double()
    return (p.exp() * (p - q)).sum(dim=-1).clamp_min(0.0)
