"""Coherence: mean token NLL of a response given its prompt, under a reference model."""

import pytest
import torch
from models import tiny_model, tiny_tokenizer

from safetyheads.data.prompts import encode, render
from safetyheads.evaluation.coherence import (
    CALIBRATION_SET,
    DEFAULT_THRESHOLD,
    Coherence,
    encode_pair,
    shuffled_tokens,
    word_salad,
)


def direct_logprobs(model, ctx, cont):
    """The continuation's token log-probabilities from one unpadded forward."""
    ids = torch.tensor([list(ctx) + list(cont)])
    with torch.no_grad():
        lp = model(input_ids=ids).logits[0].double().log_softmax(-1)
    return torch.stack([lp[len(ctx) - 1 + i, t] for i, t in enumerate(cont)])


def test_encode_pair_moves_trailing_spaces_to_the_continuation():
    tok = tiny_tokenizer()
    ctx, cont = encode_pair(tok, "Answer: ", "yes")
    assert tok.decode(ctx).replace(" ", "") == "Answer:" and len(cont) == 4  # " ", "y", "e", "s"


def test_coherence_scores_the_response_given_the_rendered_prompt():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    scorer = Coherence(model, tok, template="query", threshold=4.5)
    scores = scorer.score(["How are you?", "Hi"], [" Fine, thanks.", ""])
    ctx = encode(tok, render(tok, "How are you?", "query"), "query")[0].tolist()
    expected = -float(direct_logprobs(model, ctx, tok(" Fine, thanks.").input_ids).mean())
    assert scores[0].nll == pytest.approx(expected, rel=1e-6)
    assert scores[0].degenerate == (expected > 4.5)
    assert scores[1].nll is None and not scores[1].degenerate  # nothing to score


def test_fluent_answers_score_below_the_threshold_and_shuffled_ones_above(builtin_model):
    """Under the built-in model, a fluent hand-written answer separates from the same tokens shuffled."""
    model, tok = builtin_model
    pairs = CALIBRATION_SET[:2]
    prompts = [p for p, _ in pairs]
    answers = [" ".join(a.split()[:30]) for _, a in pairs]
    shuffled = [shuffled_tokens(tok, a, seed=i) for i, a in enumerate(answers)]
    salad = [word_salad(answers, 30, seed=i) for i in range(2)]
    nll = Coherence(model, tok, template="query", batch_size=6).nlls(prompts * 3, answers + shuffled + salad)
    fluent, broken = nll[:2], nll[2:]
    assert max(fluent) < DEFAULT_THRESHOLD < min(broken)
    for f, s in zip(fluent, nll[2:4], strict=True):
        assert s - f > 2.0  # nats per token
