"""What an intervention costs on harmless text: KL from the unablated model and the change in loss.

Multiple-choice accuracy cannot show damage on a task the model fails anyway. These measures can, on any model
(Arditi et al. report the same for their direction): for every position of a harmless sequence, the KL
divergence of the next-token distribution, unablated to intervened, and the negative log-likelihood of the
actual next token under both.

- ``text``: encyclopedic prose (BoolQ passages, from the end of the set, away from the scored items);
- ``chat``: harmless questions in the chat template with the unablated model's own greedy answer; only the
  answer's positions are scored (the answers the model gives when nothing is ablated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from safetyheads.core.engine import kl_divergence
from safetyheads.data.datasets import harmless_passages, harmless_questions
from safetyheads.data.prompts import Template, prepare
from safetyheads.evaluation.asr import bootstrap_ci
from safetyheads.evaluation.generation import DecodingSettings, generate
from safetyheads.types import SafetyHeadsError

TEXT_TOKENS = 128  # prose is cut to this many tokens
CHAT_ANSWER_TOKENS = 48
QUESTIONS_SKIP = 200  # questions of the helpfulness sets beyond the items helpfulness scores


@dataclass(frozen=True)
class Sequences:
    """Token sequences to score, each from position ``start`` on (earlier tokens are context only)."""

    name: str
    ids: list[list[int]]
    starts: list[int]


def text_sequences(tokenizer, n: int = 32) -> Sequences:
    ids = [tokenizer(p, add_special_tokens=False).input_ids[:TEXT_TOKENS] for p in harmless_passages(n)]
    return Sequences("text", ids, [1] * len(ids))


def chat_sequences(model: nn.Module, tokenizer, n: int = 32) -> Sequences:
    """Harmless questions with the model's own greedy answers (call it with nothing ablated)."""
    prompts = [ids for _q, ids in prepare(tokenizer, harmless_questions(n, skip=QUESTIONS_SKIP), Template.CHAT)]
    answers = generate(model, tokenizer, prompts, settings=DecodingSettings(max_new_tokens=CHAT_ANSWER_TOKENS))
    ids = [[int(x) for x in p.reshape(-1).tolist()] + list(a.new_ids) for p, a in zip(prompts, answers, strict=True)]
    return Sequences("chat", ids, [p.numel() for p in prompts])


@dataclass(frozen=True)
class Reference:
    """The unablated side of :func:`harmless_damage`, the same for every intervention on one model: the sequences
    and, for each, the next-token logits at its scored positions (float32, as the model gives them)."""

    n: int  # sequences asked for per set
    sets: tuple[Sequences, ...]
    logits: tuple[tuple[torch.Tensor, ...], ...]


def _span(ids: list[int], start: int) -> slice:
    """The positions predicting tokens ``start`` .. end."""
    return slice(max(start - 1, 0), len(ids) - 1)


@torch.no_grad()
def _logits(model: nn.Module, sequences: Sequences) -> tuple[torch.Tensor, ...]:
    device = next(model.parameters()).device
    out = []
    for ids, start in zip(sequences.ids, sequences.starts, strict=True):
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0]
        out.append(logits[_span(ids, start)].to("cpu", torch.float32, copy=True))  # a copy: not the whole tensor
    return tuple(out)


def reference(model: nn.Module, tokenizer, n: int = 32) -> Reference:
    """The unablated model's side on ``n`` harmless prose passages and ``n`` harmless chat answers (the chat set
    only when the tokenizer has a chat template). Call it with nothing ablated."""
    sets = [text_sequences(tokenizer, n)]
    if getattr(tokenizer, "chat_template", None) is not None:
        sets.append(chat_sequences(model, tokenizer, n))
    return Reference(n, tuple(sets), tuple(_logits(model, s) for s in sets))


def damage(
    model: nn.Module,
    sequences: Sequences,
    intervention: Callable[[], AbstractContextManager],
    base_logits: Sequence[torch.Tensor] | None = None,
) -> dict:
    """Mean per-token KL(unablated || intervened), with a bootstrap interval over sequences, and the mean NLL
    of the next token under both. ``base_logits``: the unablated model's (:class:`Reference`), computed when
    not given."""
    base = base_logits if base_logits is not None else _logits(model, sequences)
    with intervention():
        other = _logits(model, sequences)
    kls, nll_base, nll_other = [], [], []
    for ids, start, b_logits, o_logits in zip(sequences.ids, sequences.starts, base, other, strict=True):
        span = _span(ids, start)
        if span.stop <= span.start:
            continue
        b, o = F.log_softmax(b_logits.double(), -1), F.log_softmax(o_logits.double(), -1)
        target = torch.tensor(ids[span.start + 1 : span.stop + 1])
        kls.append(float(kl_divergence(b, o).mean()))
        nll_base.append(float(-b.gather(1, target[:, None]).mean()))
        nll_other.append(float(-o.gather(1, target[:, None]).mean()))
    n = len(kls)
    return {
        "set": sequences.name,
        "n": n,
        "kl": sum(kls) / n if n else None,
        "kl_ci": list(bootstrap_ci(kls)) if n else None,
        "nll_base": sum(nll_base) / n if n else None,
        "nll": sum(nll_other) / n if n else None,
    }


def harmless_damage(
    model: nn.Module,
    tokenizer,
    intervention: Callable[[], AbstractContextManager],
    n: int = 32,
    unablated: Reference | None = None,
) -> dict:
    """:func:`damage` on ``n`` harmless prose passages and ``n`` harmless chat answers: ``{"text": ..., "chat": ...}``.
    ``unablated``: :func:`reference` of this model and ``n``, reused across interventions (made here when not
    given; call it with nothing ablated: the chat answers are the unablated model's)."""
    ref = unablated if unablated is not None else reference(model, tokenizer, n)
    if ref.n != n:
        raise SafetyHeadsError(f"the unablated reference was made for {ref.n} sequences per set, not {n}")
    return {s.name: damage(model, s, intervention, logits) for s, logits in zip(ref.sets, ref.logits, strict=True)}
