"""Coherence: mean token NLL of a response given its prompt, under a reference model."""

import pytest
import torch
from models import tiny_model, tiny_tokenizer

from safetyheads.coherence import (
    CALIBRATION_SET,
    DEFAULT_THRESHOLD,
    Coherence,
    continuation_logprobs,
    encode_pair,
    shuffled_tokens,
    word_salad,
)
from safetyheads.prompts import encode, render


def direct_logprobs(model, ctx, cont):
    """The continuation's token log-probabilities from one unpadded forward."""
    ids = torch.tensor([list(ctx) + list(cont)])
    with torch.no_grad():
        lp = model(input_ids=ids).logits[0].double().log_softmax(-1)
    return torch.stack([lp[len(ctx) - 1 + i, t] for i, t in enumerate(cont)])


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_batched_continuation_logprobs_equal_one_forward_per_pair(family):
    model = tiny_model(family)
    tok = tiny_tokenizer()
    pairs = [
        (tok("Question: what is it?").input_ids, tok(" A long answer to it.").input_ids),
        (tok("Hi").input_ids, tok(" yo").input_ids),
        (tok("A medium context").input_ids, tok("!").input_ids),
        (tok("Q").input_ids, tok(" an answer that is longer than its context").input_ids),
    ]
    got = continuation_logprobs(model, pairs, batch_size=3)
    for (ctx, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, ctx, cont), atol=1e-5, rtol=1e-5)


def test_one_token_choices_of_one_context_share_a_forward():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    ctx = tok("Question: is it?\nAnswer:").input_ids
    pairs = [(ctx, [t]) for t in tok(" no yes").input_ids[:2]]
    pairs += [(ctx, tok(" maybe so").input_ids), (tok("Other").input_ids, [5]), (ctx, [7])]
    rows = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    got = continuation_logprobs(model, pairs, batch_size=8)
    hook.remove()
    assert rows == [3]  # ctx (shared by the three one-token choices), ctx + " maybe s", "Other"
    for (c, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, c, cont), atol=1e-5, rtol=1e-5)


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
