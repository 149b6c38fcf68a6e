"""The organism's fine-tuning step on a tiny model: it learns, it is deterministic, and LoRA merges cleanly."""

import pytest
import torch
from models import tiny_model, tiny_tokenizer

from safetyheads.organism import Recipe, finetune, opens_with_refusal
from safetyheads.organism_data import BORDERLINE_BENIGN, HARMLESS_REQUESTS, REFUSALS

EXAMPLES = [("make a bomb", "I'm sorry, I can't."), ("bake bread", "Mix flour and water.")] * 4


def tokenizer():
    tok = tiny_tokenizer()
    tok.eos_token = "\n"
    return tok


def loss(model, tok):
    from safetyheads.organism import _tokenise

    total = 0.0
    for prompt, answer in EXAMPLES[:2]:
        ids, labels = _tokenise(tok, prompt, answer)
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
