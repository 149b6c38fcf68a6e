"""Log-probabilities of continuations given contexts: what multiple-choice scoring and coherence read.

``continuation_logprobs`` takes (context ids, continuation ids) pairs and returns log p(token | everything
before it) for each continuation token, under the model as it is (inside ``ablated(...)`` for an ablated
model). Two routes give the same numbers:

- pairs whose context no other pair shares run as one forward over context + continuation (right-padded);
- pairs that share a context (the choices of a multiple-choice question) run the context once, left-padded
  with explicit position ids: its last position gives every continuation's first token (one-token choices
  need nothing more), and the rest of the continuations run at once on copies of its key/value cache.
  An ARC question with four choices costs its context once instead of four times.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence

import torch
from torch import nn

from safetyheads.core.families import extends_cache
from safetyheads.evaluation.generation import left_pad, right_pad

# Rows stop being added to a batch once rows x width would pass this many tokens. On the CPU a forward of a few
# hundred tokens runs fastest per token (measured with SmolLM2-135M on 2 cores; docs/evaluation.md).
TOKENS_PER_FORWARD = {"cpu": 768}
TOKENS_PER_FORWARD_ELSEWHERE = 16384


def width_batches(widths: Sequence[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """Indices in order of decreasing width, cut into batches of at most ``batch_size`` rows and (beyond the
    first row) at most ``max_tokens`` padded tokens."""
    order = sorted(range(len(widths)), key=lambda i: (-widths[i], i))
    out: list[list[int]] = []
    for i in order:
        if out and len(out[-1]) < batch_size and (len(out[-1]) + 1) * widths[out[-1][0]] <= max_tokens:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _cache_argument(model: nn.Module) -> str:
    """The forward argument that takes a key/value cache: ``cache`` in newer transformers releases."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _cache_of(output):
    for name in ("cache", "past_key_values"):
        value = getattr(output, name, None)
        if value is not None:
            return value
    raise RuntimeError("the model returned no key/value cache although use_cache=True was passed")


@torch.no_grad()
def continuation_logprobs(
    model: nn.Module,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    batch_size: int = 8,
    max_length: int | None = None,
    max_tokens: int | None = None,
    share_contexts: bool = True,
) -> list[torch.Tensor]:
    """log p(token | everything before it) for every continuation token of each (context, continuation) pair.

    An empty context must be replaced by a start token before calling. Pairs longer than ``max_length`` lose
    tokens from the left (continuation tokens too once the context is down to one). Returns float64 tensors,
    one per pair, of the length of its continuation (as cut).
    ``batch_size`` caps the rows (contexts, on the shared route) of one forward, ``max_tokens`` its padded size
    (default: by device, ``TOKENS_PER_FORWARD``). ``share_contexts=False`` runs every pair on the plain route
    (one forward per pair; for comparisons such as ``benchmarks/bench_mc.py``), and so does a model whose cache
    takes one new token at a time (``families.extends_cache``: Jamba).
    """
    if max_tokens is None:
        device = next(model.parameters()).device.type
        max_tokens = TOKENS_PER_FORWARD.get(device, TOKENS_PER_FORWARD_ELSEWHERE)
    cut: list[tuple[list[int], list[int]]] = []
    for ctx, cont in pairs:
        if not ctx:
            raise ValueError("continuation_logprobs needs a non-empty context (use a start token)")
        seq, start = list(ctx) + list(cont), len(ctx)
        if max_length is not None and len(seq) > max_length:
            drop = len(seq) - max_length
            seq, start = seq[drop:], max(start - drop, 1)
        cut.append((seq[:start], seq[start:]))
    sharing: dict[tuple[int, ...], list[int]] = {}
    for k, (ctx, cont) in enumerate(cut):
        if cont:
            sharing.setdefault(tuple(ctx), []).append(k)
    out: list[torch.Tensor] = [torch.zeros(0, dtype=torch.float64)] * len(cut)
    share_contexts = share_contexts and extends_cache(model)  # else the shared route's cached tails would be wrong
    shared = {ctx: ks for ctx, ks in sharing.items() if len(ks) > 1 and share_contexts}
    alone = [k for ctx, ks in sharing.items() if ctx not in shared for k in ks]
    if shared:
        _shared_route(model, shared, cut, out, batch_size, max_tokens)
    if alone:
        _plain_route(model, alone, cut, out, batch_size, max_tokens)
    return out


def _plain_route(model, ks: list[int], cut, out: list[torch.Tensor], batch_size: int, max_tokens: int) -> None:
    """One right-padded forward per pair over context + continuation minus its last token."""
    device = next(model.parameters()).device
    seqs = [cut[k][0] + cut[k][1][:-1] for k in ks]
    for idx in width_batches([len(s) for s in seqs], batch_size, max_tokens):
        ids, mask = right_pad([seqs[i] for i in idx], 0)  # right padding: earlier positions never see it
        first = min(len(cut[ks[i]][0]) - 1 for i in idx)
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            use_cache=False,
            logits_to_keep=ids.shape[1] - first,
        ).logits
        logprobs = logits.double().log_softmax(-1).cpu()  # position p is sequence position first + p
        for r, i in enumerate(idx):
            ctx, cont = cut[ks[i]]
            out[ks[i]] = gather_continuation(logprobs, r, len(ctx), cont, first)


def gather_continuation(
    logprobs: torch.Tensor, row: int, context_length: int, continuation: Sequence[int], first: int
) -> torch.Tensor:
    """log p of each ``continuation`` token, read from row ``row`` of a right-padded forward's log-softmax whose
    position 0 is sequence position ``first`` (the continuation starts at ``context_length``)."""
    pos = torch.arange(context_length - 1, context_length - 1 + len(continuation)) - first
    return logprobs[row, pos, torch.as_tensor(continuation)]


def _shared_route(model, shared: dict, cut, out: list[torch.Tensor], batch_size: int, max_tokens: int) -> None:
    """Each shared context once (left-padded, its last position predicts every continuation's first token),
    then the continuations' remaining tokens on copies of the contexts' key/value cache."""
    device = next(model.parameters()).device
    contexts = list(shared)
    for idx in width_batches([len(c) for c in contexts], batch_size, max_tokens):
        ids, mask = left_pad([contexts[i] for i in idx], 0)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        result = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            use_cache=True,
            logits_to_keep=1,
        )
        first = result.logits[:, -1].double().log_softmax(-1).cpu()
        rows = [(r, k) for r, i in enumerate(idx) for k in shared[contexts[i]]]
        longer = [(r, cut[k][1]) for r, k in rows if len(cut[k][1]) > 1]
        lengths = [len(contexts[i]) for i in idx]
        rest = iter(_tails(model, _cache_of(result), mask, lengths, longer, max_tokens) if longer else [])
        for r, k in rows:
            head = first[r, cut[k][1][0]].reshape(1)
            out[k] = torch.cat([head, next(rest)]) if len(cut[k][1]) > 1 else head


def _tail_chunks(widths: Sequence[int], split: bool) -> list[list[int]]:
    """Indices by decreasing width; with ``split``, a new chunk wherever a row is under half its chunk's width.

    Splitting saves padded tokens, which is what costs on a CPU; on a GPU a small model's forwards cost more than
    their padding, so the continuations of a batch run as one chunk there.
    """
    chunks: list[list[int]] = []
    for i in sorted(range(len(widths)), key=lambda i: (-widths[i], i)):
        if chunks and (not split or 2 * widths[i] >= widths[chunks[-1][0]]):
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return chunks


def _within_budget(chunks: list[list[int]], widths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """``chunks`` (each by decreasing width) cut so that no forward holds more than ``max_tokens`` padded tokens
    (one row at least): many continuations of one context would otherwise make one forward, and one logits
    tensor, of all of them."""
    out = []
    for chunk in chunks:
        rows = max(1, max_tokens // max(1, widths[chunk[0]]))
        out += [chunk[k : k + rows] for k in range(0, len(chunk), rows)]
    return out


def _tails(
    model, cache, mask: torch.Tensor, ctx_lengths: list[int], rows: list[tuple[int, list[int]]], max_tokens: int
):
    """log p of each continuation's tokens after its first, for ``rows`` of (context row, continuation), read
    on copies of the contexts' key/value ``cache`` (``mask``: their left-padded attention mask), at most
    ``max_tokens`` continuation tokens a forward."""
    device = next(model.parameters()).device
    widths = [len(cont) - 1 for _, cont in rows]
    chunks = _within_budget(_tail_chunks(widths, split=device.type == "cpu"), widths, max_tokens)
    out: list[torch.Tensor] = [torch.zeros(0)] * len(rows)
    for n, chunk in enumerate(chunks):
        own = cache if n == len(chunks) - 1 else copy.deepcopy(cache)
        owner = torch.tensor([rows[j][0] for j in chunk])
        own.reorder_cache(owner.to(device))  # one copy of its context's cache per continuation
        tail, tail_mask = right_pad([rows[j][1][:-1] for j in chunk], 0)
        lengths = torch.tensor([ctx_lengths[rows[j][0]] for j in chunk])
        tail_positions = (lengths[:, None] + torch.arange(tail.shape[1])[None, :]) * tail_mask  # padding: 0
        logits = model(
            input_ids=tail.to(device),
            attention_mask=torch.cat([mask[owner], tail_mask], dim=1).to(device),
            position_ids=tail_positions.to(device),
            use_cache=True,
            **{_cache_argument(model): own},
        ).logits
        real = tail_mask.bool().to(logits.device)  # only real positions go through the softmax
        logprobs = logits[real].double().log_softmax(-1).cpu().split(tail_mask.sum(-1).tolist())
        for lp, j in zip(logprobs, chunk, strict=True):
            targets = torch.as_tensor(rows[j][1][1:])
            out[j] = lp[torch.arange(len(targets)), targets]
    return out
