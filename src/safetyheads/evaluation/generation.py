"""Text generation with a set of heads ablated.

Prompts are left-padded into batches and run through ``model.generate`` (so the
KV cache is used) inside ``ablated(model, heads, spec)``: the same heads are
ablated in every row and at every decoding step. Greedy decoding is the default;
top-k sampling with a fixed seed is optional. With no heads, or with epsilon 1,
the output equals plain transformers generation token for token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from safetyheads.core.ablation import ablated
from safetyheads.core.progress import Progress
from safetyheads.types import AblationSpec, Head, SafetyHeadsError

DEFAULT_MAX_NEW_TOKENS = 128
# Prompts per ``model.generate`` call when none is given. On a CPU one wide batch costs far less than several
# narrow ones (the 135M organism, 50 answers of 32 tokens under a head ablation: 38 s in batches of 8, 20 s of 32,
# 15 s of 64, the same answers); on an accelerator a smaller batch bounds the memory a large model needs.
CPU_BATCH_SIZE = 64
ACCELERATOR_BATCH_SIZE = 32


def default_batch_size(device: torch.device | str) -> int:
    """Prompts per generated batch on ``device`` when the caller gives none."""
    return CPU_BATCH_SIZE if torch.device(device).type == "cpu" else ACCELERATOR_BATCH_SIZE


@dataclass(frozen=True)
class DecodingSettings:
    """How to decode: greedy unless ``top_k`` is given, then top-k sampling with ``seed``."""

    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    top_k: int | None = None
    temperature: float = 1.0
    seed: int = 0

    @property
    def sampling(self) -> bool:
        return self.top_k is not None

    def as_dict(self) -> dict:
        return {
            "max_new_tokens": self.max_new_tokens,
            "top_k": self.top_k,
            "temperature": self.temperature if self.sampling else None,
            "seed": self.seed if self.sampling else None,
        }


@dataclass
class Generation:
    """One generated answer: its new token ids (up to, not including, the end-of-sequence token) and text."""

    prompt_ids: list[int]
    new_ids: list[int]
    text: str
    finished: bool  # stopped at an end-of-sequence token rather than at max_new_tokens


def eos_ids(model: nn.Module, tokenizer) -> list[int]:
    """Every token id that ends an answer: the generation config's end-of-sequence ids and the tokenizer's."""
    ids: list[int] = []
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, getattr(tokenizer, "eos_token_id", None)):
        if value is None:
            continue
        for i in value if isinstance(value, list | tuple) else [value]:
            if int(i) not in ids:
                ids.append(int(i))
    return ids


def pad_id(tokenizer, eos: Sequence[int]) -> int:
    if getattr(tokenizer, "pad_token_id", None) is not None:
        return int(tokenizer.pad_token_id)
    return int(eos[0]) if eos else 0


def left_pad(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) with every row right-aligned."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if len(r):
            ids[i, width - len(r) :] = torch.as_tensor(list(r), dtype=torch.long)
            mask[i, width - len(r) :] = 1
    return ids, mask


def right_pad(rows: Sequence[Sequence[int]], fill: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(tensor, mask) with every row left-aligned and ``fill`` after its end."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), fill, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(list(r), dtype=torch.long)
        mask[i, : len(r)] = 1
    return out, mask


def generate_kwargs(settings: DecodingSettings, eos: Sequence[int], pad: int) -> dict:
    """Arguments for ``model.generate`` that override whatever the model's own generation config says."""
    kwargs: dict = {
        "max_new_tokens": settings.max_new_tokens,
        "min_new_tokens": 0,
        "num_beams": 1,
        "use_cache": True,
        "pad_token_id": pad,
        "eos_token_id": list(eos) if eos else None,
        "repetition_penalty": 1.0,
        "top_p": 1.0,
    }
    if settings.sampling:
        kwargs.update(do_sample=True, top_k=int(settings.top_k), temperature=float(settings.temperature))
    else:
        kwargs.update(do_sample=False, top_k=None, top_p=None, temperature=None)
    return kwargs


def _as_list(ids: torch.Tensor | Sequence[int]) -> list[int]:
    if isinstance(ids, torch.Tensor):
        if ids.dim() == 2:
            if ids.shape[0] != 1:
                raise ValueError("each prompt must be one row of token ids")
            ids = ids[0]
        return [int(x) for x in ids.tolist()]
    return [int(x) for x in ids]


def _cut(new: list[int], eos: Sequence[int]) -> tuple[list[int], bool]:
    stops = set(eos)
    for i, t in enumerate(new):
        if t in stops:
            return new[:i], True
    return new, False


@torch.no_grad()
def generate(
    model: nn.Module,
    tokenizer,
    prompts: Sequence[torch.Tensor | Sequence[int]],
    heads: Iterable[Head] = (),
    spec: AblationSpec | None = None,
    settings: DecodingSettings | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[list[int], list[Generation]], None] | None = None,
    show_progress: bool = False,
) -> list[Generation]:
    """Generate an answer to each tokenised prompt with ``heads`` ablated (none: the plain model).

    Prompts are batched in the given order. ``on_batch(indices, generations)`` is called as each batch
    finishes (for streaming results to disk). Sampling draws from a generator seeded with ``settings.seed``
    at the start of each batch, so results do not depend on what ran before.
    """
    settings = settings or DecodingSettings()
    if settings.max_new_tokens < 1:
        raise SafetyHeadsError("max_new_tokens must be at least 1")
    rows = [_as_list(p) for p in prompts]
    if any(not r for r in rows):
        raise SafetyHeadsError("a prompt encodes to no tokens")
    device = next(model.parameters()).device
    eos = eos_ids(model, tokenizer)
    pad = pad_id(tokenizer, eos)
    kwargs = generate_kwargs(settings, eos, pad)
    size = batch_size or default_batch_size(device)
    heads = list(heads)
    # A model never made ablatable runs untouched when no head is ablated (classifiers, reference models).
    plain = not heads and getattr(model, "_safetyheads_state", None) is None
    context = nullcontext() if plain else ablated(model, heads, spec or AblationSpec())
    results: list[Generation] = []
    with Progress(enabled=show_progress) as progress, context:
        task = progress.task("generating", total=len(rows))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            ids, mask = left_pad(chunk, pad)
            with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
                if settings.sampling:
                    torch.manual_seed(settings.seed)
                out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **kwargs)
            batch = []
            for row, prompt in zip(out[:, ids.shape[1] :].tolist(), chunk, strict=True):
                new, finished = _cut(row, eos)
                text = tokenizer.decode(new, skip_special_tokens=True)
                batch.append(Generation(prompt_ids=prompt, new_ids=new, text=text, finished=finished))
            results.extend(batch)
            if on_batch is not None:
                on_batch(list(range(start, start + len(chunk))), batch)
            progress.advance(task, len(chunk))
    return results


def generate_texts(
    model: nn.Module,
    tokenizer,
    prompts: Sequence[torch.Tensor | Sequence[int]],
    heads: Iterable[Head] = (),
    spec: AblationSpec | None = None,
    settings: DecodingSettings | None = None,
    batch_size: int | None = None,
) -> list[str]:
    """Just the answer texts of :func:`generate`."""
    return [g.text for g in generate(model, tokenizer, prompts, heads, spec, settings, batch_size)]
