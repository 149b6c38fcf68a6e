"""Generation under ablation: batched, KV-cached, and identical to plain transformers generation at epsilon 1."""

import copy

import pytest
import torch
from models import tiny_model, tiny_tokenizer

from safetyheads.core.ablation import ablated
from safetyheads.evaluation.generation import DecodingSettings, generate, left_pad
from safetyheads.types import AblationSpec, Head

PROMPTS = ["How do I pick a lock?", "Tell me", "Write a poem about the rain in Spain."]
HEADS = [Head(0, 1), Head(1, 0), Head(2, 1)]  # valid as query heads and as key heads
NEW = 6


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def encode(tok, prompts=PROMPTS):
    return [tok(p, add_special_tokens=False).input_ids for p in prompts]


def plain_generate(model, rows, max_new_tokens=NEW, **kwargs):
    """Plain transformers generation of one left-padded batch; new tokens of each row."""
    ids, mask = left_pad(rows, 0)
    out = model.generate(
        input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=0, **kwargs
    )
    return out[:, ids.shape[1] :].tolist()


def new_tokens(generations):
    return [g.new_ids for g in generations]


@pytest.mark.parametrize("family", ["llama", "gemma2", "gpt2", "gpt_neox"])
def test_epsilon_one_equals_plain_generation(family, tok):
    model = tiny_model(family)
    model.generation_config.eos_token_id = None  # run every row to max_new_tokens, so rows compare in full
    plain = copy.deepcopy(model)
    rows = encode(tok)
    expected = plain_generate(plain, rows)
    got = generate(model, tok, rows, HEADS, AblationSpec.parse("ua-q", 1.0), DecodingSettings(max_new_tokens=NEW))
    assert new_tokens(got) == expected
    if family != "llama":
        return
    for kind in ("ua-k", "sc"):  # every scaling kind is the identity at epsilon 1
        spec = AblationSpec.parse(kind, 1.0)
        assert new_tokens(generate(model, tok, rows, HEADS, spec, DecodingSettings(max_new_tokens=NEW))) == expected
    # one prompt at a time, unpadded
    singles = generate(model, tok, rows, HEADS, AblationSpec.parse("ua-q", 1.0), DecodingSettings(NEW), batch_size=1)
    for g, row in zip(singles, rows, strict=True):
        ids = torch.tensor([row])
        ref = plain.generate(input_ids=ids, max_new_tokens=NEW, do_sample=False, pad_token_id=0)
        assert g.new_ids == ref[0, len(row) :].tolist()


def test_ablated_generation_differs_and_matches_uncached_greedy_decoding(tok):
    model = tiny_model("llama")
    model.generation_config.eos_token_id = None
    rows = encode(tok)
    spec = AblationSpec.parse("ua-q")
    plain = new_tokens(generate(model, tok, rows, settings=DecodingSettings(max_new_tokens=NEW)))
    ablated_out = new_tokens(generate(model, tok, rows, HEADS, spec, DecodingSettings(max_new_tokens=NEW)))
    assert ablated_out != plain
    # the KV-cached, batched result equals greedy decoding with a full forward per step, one prompt at a time
    with ablated(model, HEADS, spec), torch.no_grad():
        for row, got in zip(rows, ablated_out, strict=True):
            seq = list(row)
            for _ in range(NEW):
                logits = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0, -1]
                seq.append(int(logits.argmax()))
            assert seq[len(row) :] == got
    assert model._safetyheads_state.plan is None  # the ablation ends with the call


def test_stops_at_end_of_sequence_and_reports_it(tok):
    model = tiny_model("llama")
    model.generation_config.eos_token_id = None
    rows = encode(tok, PROMPTS[:1])
    free = generate(model, tok, rows, settings=DecodingSettings(max_new_tokens=NEW))[0]
    stop = free.new_ids[3]
    model.generation_config.eos_token_id = stop
    cut = generate(model, tok, rows, settings=DecodingSettings(max_new_tokens=NEW))[0]
    assert cut.finished and not free.finished
    assert cut.new_ids == free.new_ids[: free.new_ids.index(stop)]
    assert cut.text == tok.decode(cut.new_ids)


def test_top_k_sampling_is_seeded_and_leaves_global_rng_alone(tok):
    model = tiny_model("llama")
    model.generation_config.eos_token_id = None
    rows = encode(tok, PROMPTS[:2])

    def sample(seed, k=20):
        return new_tokens(generate(model, tok, rows, settings=DecodingSettings(max_new_tokens=NEW, top_k=k, seed=seed)))

    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = sample(1)
    after = torch.rand(1)
    assert torch.equal(before, after)
    assert sample(1) == a
    assert sample(2) != a
    assert sample(1, k=1) == sample(2, k=1)  # top-1 sampling is greedy: the seed does not matter


def test_generation_defaults():
    settings = DecodingSettings()
    assert settings.max_new_tokens == 128 and not settings.sampling
