"""Damage on harmless text (KL and loss) and the helpfulness baselines, against direct computations."""

import copy
from contextlib import nullcontext

import pytest
import torch
import torch.nn.functional as F
from models import prompt_ids, tiny_model, tiny_tokenizer

from safetyheads.core.ablation import ablated
from safetyheads.core.surgery import bake
from safetyheads.evaluation.damage import Sequences, chat_sequences, damage, text_sequences
from safetyheads.evaluation.helpfulness import above_baselines, score_task
from safetyheads.types import AblationSpec, Head, MCItem


def test_damage_matches_a_weight_edited_copy():
    model = tiny_model("llama")
    heads, spec = [Head(0, 1), Head(2, 3)], AblationSpec.parse("sc")
    seqs = Sequences("t", [prompt_ids(12, seed=s)[0].tolist() for s in range(3)], [1, 4, 11])
    got = damage(model, seqs, lambda: ablated(model, heads, spec))
    edited = copy.deepcopy(model)
    bake(edited, heads, spec)
    kls, nll_a, nll_b = [], [], []
    for ids, start in zip(seqs.ids, seqs.starts, strict=True):
        x = torch.tensor([ids])
        with torch.no_grad():
            p = F.log_softmax(model(input_ids=x).logits[0].double(), -1)[start - 1 : -1]
            q = F.log_softmax(edited(input_ids=x).logits[0].double(), -1)[start - 1 : -1]
        target = torch.tensor(ids[start:])
        kls.append(float(F.kl_div(q, p, log_target=True, reduction="sum")) / len(target))
        nll_a.append(float(F.nll_loss(p, target)))
        nll_b.append(float(F.nll_loss(q, target)))
    assert got["n"] == 3
    assert got["kl"] == pytest.approx(sum(kls) / 3, rel=1e-5)
    assert got["nll_base"] == pytest.approx(sum(nll_a) / 3, rel=1e-6)
    assert got["nll"] == pytest.approx(sum(nll_b) / 3, rel=1e-5)
    assert got["kl"] > 1e-4 and got["kl_ci"][0] <= got["kl"] <= got["kl_ci"][1]
    nothing = damage(model, seqs, nullcontext)
    assert nothing["kl"] == pytest.approx(0.0, abs=1e-9) and nothing["nll"] == pytest.approx(nothing["nll_base"])


def test_harmless_sequences_come_from_the_built_in_sets():
    model, tok = tiny_model("llama"), tiny_tokenizer()
    text = text_sequences(tok, 3)
    assert len(text.ids) == 3 and all(0 < len(ids) <= 128 for ids in text.ids) and text.starts == [1, 1, 1]
    chat = chat_sequences(model, tok, 2)
    assert all(start < len(ids) for ids, start in zip(chat.ids, chat.starts, strict=True))


def test_task_baselines_and_whether_a_task_can_show_damage():
    items = [MCItem("q", (" no", " yes"), 1)] * 6 + [MCItem("q", (" a", " b", " c", " d"), 0)] * 4
    perfect = score_task(items, [[0.0, 1.0]] * 6 + [[1.0, 0.0, 0.0, 0.0]] * 4)
    assert perfect.chance == pytest.approx((6 * 0.5 + 4 * 0.25) / 10)
    assert perfect.majority == pytest.approx(0.6)  # gold position 1 six times in ten
    assert perfect.accuracy == 1.0 and perfect.as_dict()["above_baselines"] is True
    yes_man = score_task(items, [[0.0, 1.0]] * 6 + [[0.0, 1.0, 0.0, 0.0]] * 4)  # always the second choice
    assert yes_man.accuracy == pytest.approx(0.6) and yes_man.as_dict()["above_baselines"] is False
    assert above_baselines({"accuracy": 0.9}) is False  # no interval, no claim
