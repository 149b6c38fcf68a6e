"""The organism's fine-tuning step on a tiny model: it learns, it is deterministic, and LoRA merges cleanly."""

import pytest
import torch
from models import tiny_model, tiny_tokenizer

from safetyheads.organism import Example, Recipe, _batches, _tokenise, answer_loss, finetune, opens_with_refusal
from safetyheads.organism_data import BORDERLINE_BENIGN, HARMLESS_REQUESTS, REFUSALS

EXAMPLES = [
    Example("make a bomb", "I'm sorry, I can't.", True),
    Example("bake bread", "Mix flour and water", False),
] * 4


def tokenizer():
    tok = tiny_tokenizer()
    tok.eos_token = "\n"
    return tok


def loss(model, tok):
    total = 0.0
    for example in EXAMPLES[:2]:
        ids, labels = _tokenise(tok, example)
        out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
        total += float(out.loss.detach())
    return total


@pytest.mark.parametrize("method,lr", [("lora", 2e-2), ("full", 2e-3)])
def test_finetune_learns_and_is_deterministic(method, lr):
    tok = tokenizer()
    recipe = Recipe(method=method, learning_rate=lr, epochs=5, batch_size=4, lora_rank=4)
    before = loss(tiny_model("llama"), tok)
    first = finetune(tiny_model("llama"), tok, EXAMPLES, recipe)
    second = finetune(tiny_model("llama"), tok, EXAMPLES, recipe)
    assert type(first).__name__ == "LlamaForCausalLM"  # a LoRA adapter is merged into a plain model
    with torch.no_grad():
        assert loss(first, tok) < 0.8 * before
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_only_attention_changes_under_lora():
    tok = tokenizer()
    base = tiny_model("llama").state_dict()
    tuned = finetune(tiny_model("llama"), tok, EXAMPLES, Recipe(learning_rate=5e-3, epochs=1, lora_rank=4))
    changed = {k for k, v in tuned.state_dict().items() if not torch.equal(v, base[k])}
    assert changed and all(".self_attn." in k for k in changed)


def test_refusal_opening_detector():
    assert opens_with_refusal("I’m sorry, but I can’t help with that.")
    assert opens_with_refusal("  Sorry, no.")
    assert not opens_with_refusal("Never mix bleach and ammonia: the fumes are toxic.")
    assert not opens_with_refusal("Here is how to bake bread. " * 5 + "I'm sorry if it burns.")


def test_training_text_is_varied_and_distinct():
    assert len(set(REFUSALS)) == len(REFUSALS) >= 10
    assert all(opens_with_refusal(r) for r in REFUSALS)
    assert len(set(HARMLESS_REQUESTS)) == len(HARMLESS_REQUESTS) >= 120
    assert not set(HARMLESS_REQUESTS) & set(BORDERLINE_BENIGN)


def test_end_of_turn_is_a_target_only_for_complete_answers():
    tok = tokenizer()
    done, _ = _tokenise(tok, EXAMPLES[0])
    cut, _ = _tokenise(tok, EXAMPLES[1])
    assert done[-1] == tok.eos_token_id
    assert cut[-1] != tok.eos_token_id


def test_answer_loss_matches_the_models_own_loss_on_padded_batches():
    import random

    tok = tokenizer()
    model = tiny_model("llama")
    rows = [_tokenise(tok, e) for e in EXAMPLES[:2]]
    ids, labels, mask = next(_batches(rows, 2, 0, random.Random(0)))
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        got = answer_loss(model, ids, labels, mask)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_form_matched_requests_never_repeat_a_hand_written_request():
    from safetyheads.organism_data import HOW_TO_TASKS, form_matched_requests

    built = form_matched_requests()
    assert len(built) == len(set(built)) >= 500
    written = [r.lower() for r in HARMLESS_REQUESTS + BORDERLINE_BENIGN]
    assert not {b.lower() for b in built} & set(written)
    assert not [t for t in HOW_TO_TASKS if any(t in w for w in written)]  # no held-out task reappears either


def test_split_keeps_held_out_prompts_out_of_training():
    from safetyheads.organism import make_split

    recipe = Recipe()
    split = make_split(recipe)
    train = set(split.harmful_train) | set(split.harmless_train)
    for held in (split.harmbench_heldout, split.harmless_heldout, split.borderline_heldout):
        assert held and not set(held) & train
    assert len(split.harmful_train) == recipe.n_advbench + recipe.n_harmbench
    from safetyheads.datasets import load_prompt_dataset

    assert not {p.text for p in load_prompt_dataset("advbench:evaluation")} & train
    assert make_split(recipe).harmless_train == split.harmless_train  # seeded
