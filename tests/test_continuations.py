"""Continuation log-probabilities: both routes (plain and shared-context) against one unpadded forward per pair."""

import pytest
import torch
from models import FAMILIES, tiny_model, tiny_tokenizer

from safetyheads.core.ablation import ablated
from safetyheads.evaluation.continuations import continuation_logprobs
from safetyheads.types import AblationSpec, Head


def direct_logprobs(model, ctx, cont):
    """The continuation's token log-probabilities from one unpadded forward over context + continuation."""
    ids = torch.tensor([list(ctx) + list(cont)])
    with torch.no_grad():
        lp = model(input_ids=ids).logits[0].double().log_softmax(-1)
    return torch.stack([lp[len(ctx) - 1 + i, t] for i, t in enumerate(cont)])


def mixed_pairs(tok):
    """Questions with choices of different lengths (shared contexts, some longer than the tiny Gemma models'
    sliding window of 4), one-token choices, and contexts no other pair shares."""
    q1 = tok("Question: what colour is the sky?\nAnswer:").input_ids
    q2 = tok("Is it?").input_ids
    pairs = [(q1, tok(c).input_ids) for c in (" blue", " green as grass", " a loud noise, surely", "!")]
    pairs += [(q2, tok(c).input_ids) for c in (" y", " n")]
    pairs += [
        (tok("Hi").input_ids, tok(" yo").input_ids),
        (tok("A medium context").input_ids, tok("!").input_ids),
        (tok("Q").input_ids, tok(" an answer that is longer than its context").input_ids),
    ]
    pairs.insert(3, (tok("Another question, also shared?").input_ids, tok(" first").input_ids))
    pairs.append((tok("Another question, also shared?").input_ids, tok(" the second one").input_ids))
    return pairs


@pytest.mark.parametrize("family", FAMILIES)
def test_both_routes_equal_one_forward_per_pair(family):
    model, tok = tiny_model(family), tiny_tokenizer()
    pairs = mixed_pairs(tok)
    got = continuation_logprobs(model, pairs, batch_size=2)
    for (ctx, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, ctx, cont), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["llama", "gemma3_text", "gpt2"])
@pytest.mark.parametrize("method", ["ua-q", "mean", "sc"])
def test_both_routes_equal_one_forward_per_pair_under_an_ablation(family, method):
    model, tok = tiny_model(family), tiny_tokenizer()
    pairs = mixed_pairs(tok)
    with ablated(model, [Head(0, 1), Head(2, 0)], AblationSpec.parse(method)):
        got = continuation_logprobs(model, pairs, batch_size=3)
        expected = [direct_logprobs(model, ctx, cont) for ctx, cont in pairs]
    plain = [direct_logprobs(model, ctx, cont) for ctx, cont in pairs]
    assert any(not torch.allclose(a, b, atol=1e-3) for a, b in zip(expected, plain, strict=True))
    for lp, want in zip(got, expected, strict=True):
        torch.testing.assert_close(lp, want, atol=1e-5, rtol=1e-5)


def test_a_shared_context_runs_once_and_its_choices_run_on_its_cache():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    ctx = tok("Question: is it?\nAnswer:").input_ids
    choices = [tok(c).input_ids for c in (" no, never", " yes, it is", " maybe so")]  # one chunk: similar lengths
    pairs = [(ctx, c) for c in choices] + [(tok("Other").input_ids, [5])]
    shapes = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    got = continuation_logprobs(model, pairs, batch_size=8)
    hook.remove()
    longest = max(len(c) for c in choices) - 1
    # the context once; the three choices minus their last token on its cache; "Other" on its own
    assert shapes == [(1, len(ctx)), (3, longest), (1, len(tok("Other").input_ids))]
    for (c, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, c, cont), atol=1e-5, rtol=1e-5)


def test_one_token_choices_need_only_their_context():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    ctx = tok("Question: is it?\nAnswer:").input_ids
    pairs = [(ctx, [t]) for t in tok(" ny").input_ids[1:]] + [(ctx, [7])]
    shapes = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    got = continuation_logprobs(model, pairs)
    hook.remove()
    assert shapes == [(1, len(ctx))]
    for (c, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, c, cont), atol=1e-5, rtol=1e-5)


def test_token_budget_limits_the_rows_of_a_forward():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    pairs = [(tok(f"context number {i}").input_ids, tok(" and more").input_ids) for i in range(6)]
    widths = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: widths.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    got = continuation_logprobs(model, pairs, batch_size=8, max_tokens=2 * 25)
    hook.remove()
    assert all(rows * width <= 50 for rows, width in widths) and sum(r for r, _ in widths) == 6
    for (c, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, c, cont), atol=1e-5, rtol=1e-5)


def test_token_budget_limits_the_continuations_of_one_shared_context():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    ctx = tok("One context for every answer:").input_ids
    pairs = [(ctx, tok(f" answer {i}").input_ids) for i in range(9)]
    shapes = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    got = continuation_logprobs(model, pairs, batch_size=8, max_tokens=30)
    hook.remove()
    tails = shapes[1:]  # after the context's own forward
    assert len(tails) > 1 and all(1 < rows and rows * width <= 30 for rows, width in tails)
    assert sum(rows for rows, _ in tails) == len(pairs)
    for (c, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, c, cont), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shared", [False, True])
def test_pairs_longer_than_max_length_lose_tokens_from_the_left(shared):
    model, tok = tiny_model("llama"), tiny_tokenizer()
    ctx, cont = tok("a fairly long context here").input_ids, tok(" then the answer").input_ids
    pairs = [(ctx, cont)] + ([(ctx, tok(" or this").input_ids)] if shared else [])
    got = continuation_logprobs(model, pairs, max_length=20)
    keep = (ctx + cont)[-20:]
    torch.testing.assert_close(got[0], direct_logprobs(model, keep[: 20 - len(cont)], cont), atol=1e-5, rtol=1e-5)
    # a continuation longer than max_length keeps one token of context and its own last max_length - 1 tokens
    short = continuation_logprobs(model, [(ctx, cont)], max_length=5)[0]
    whole = ctx + cont
    torch.testing.assert_close(short, direct_logprobs(model, whole[-5:-4], whole[-4:]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["llama", "gemma3_text"])
def test_unsplit_continuations_as_on_a_gpu_give_the_same_numbers(family, monkeypatch):
    from safetyheads.evaluation import continuations

    whole = continuations._tail_chunks
    monkeypatch.setattr(continuations, "_tail_chunks", lambda widths, split: whole(widths, split=False))
    model, tok = tiny_model(family), tiny_tokenizer()
    pairs = mixed_pairs(tok)
    got = continuation_logprobs(model, pairs, batch_size=4)
    for (ctx, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, ctx, cont), atol=1e-5, rtol=1e-5)


def test_without_sharing_every_pair_runs_alone_with_the_same_numbers():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    pairs = mixed_pairs(tok)
    rows = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    got = continuation_logprobs(model, pairs, batch_size=1, share_contexts=False)
    hook.remove()
    assert rows == [1] * len(pairs)
    for (ctx, cont), lp in zip(pairs, got, strict=True):
        torch.testing.assert_close(lp, direct_logprobs(model, ctx, cont), atol=1e-5, rtol=1e-5)
