"""Would fine-tuning the scoring model as a classifier judge better than the topical judge's read-out? Gold set.

    .venv/bin/python benchmarks/judge_finetune.py --train-rounds 1,2,3,4,5 --test-round 6 [--topical]

Fine-tunes SmolLM2-135M-Instruct (the topical judge's scoring model) with a LoRA adapter on every projection and a
three-way linear head on the last position of the judge's question about request and answer (``READ_TEMPLATE``),
on the gold answers of ``--train-rounds``, then judges the answers of ``--test-round`` (which no choice here is
made on). Prints agreement, precision and recall on ``complied`` at several thresholds on p(complied), with and
without the judge's refusal-phrase rule in front, and writes every test answer's probabilities to ``--out``.

``--topical`` also fits the topical judge's two logistic models on the same training rounds (the shipped window,
penalties and threshold; measurements cached by ``judge_fit.py``, 25 min on an empty cache) and scores the two
together: p(complied) averaged, and ``complied`` only where both say so.

No fine-tuned judge is shipped: on round 6 it judged as the topical judge does (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judge_fit import fit_as_shipped, measured  # noqa: E402

from safetyheads.data.loading import load_model  # noqa: E402
from safetyheads.data.refusal_text import first_refusal  # noqa: E402
from safetyheads.evaluation.generation import right_pad  # noqa: E402
from safetyheads.evaluation.topical import (  # noqa: E402
    READ_TEMPLATE,
    decide,
)
from safetyheads.runs.gold import agreement, load_gold  # noqa: E402
from safetyheads.types import OUTCOMES, Outcome  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABELS = tuple(o.value for o in OUTCOMES)  # refused, complied, broken: the head's three outputs
COMPLIED = LABELS.index("complied")
MAX_ANSWER_TOKENS = 160
THRESHOLDS = (None, 0.4, 0.5, 0.6, 0.7, 0.8)  # None: the most likely outcome


def encode(tokenizer, request: str, answer: str) -> list[int]:
    """The judge's question about the pair, the answer cut to MAX_ANSWER_TOKENS tokens."""
    kept = tokenizer.decode(tokenizer(answer, add_special_tokens=False)["input_ids"][:MAX_ANSWER_TOKENS])
    return tokenizer(READ_TEMPLATE.format(request=request, answer=kept), add_special_tokens=False)["input_ids"]


class Classifier(nn.Module):
    """The language model's body and a linear head on the hidden state at each right-padded row's last token."""

    def __init__(self, body: nn.Module, width: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(width, len(LABELS))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.body(input_ids=ids, attention_mask=mask).last_hidden_state
        return self.head(hidden[torch.arange(ids.shape[0]), mask.sum(dim=1) - 1])


def length_batches(seqs: list[list[int]], size: int, rng: random.Random | None) -> list[list[int]]:
    """Indices grouped by length (little padding); the groups shuffled when ``rng`` is given."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    return groups


def train(classifier: Classifier, tokenizer, pad_id: int, items, args) -> None:
    """Fine-tune the adapter and head on ``items`` (gold items); write them to ``--save`` when given."""
    rng = random.Random(args.seed)
    classifier.train()
    trainable = [p for p in classifier.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0)
    seqs = [encode(tokenizer, i.prompt, i.response) for i in items]
    labels = torch.tensor([LABELS.index(i.label.value) for i in items])
    total_steps = args.epochs * -(-len(seqs) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # 20 warm-up steps, then linear decay
        optimiser, lambda s: min(1.0, (s + 1) / 20) * max(0.0, 1.0 - s / total_steps)
    )
    t0, step = time.perf_counter(), 0
    for epoch in range(args.epochs):
        for group in length_batches(seqs, args.batch, rng):
            loss = nn.functional.cross_entropy(classifier(*right_pad([seqs[i] for i in group], pad_id)), labels[group])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}/{total_steps}: loss {loss.item():.3f}, "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    print(f"trained on {len(items)} answers in {time.perf_counter() - t0:.0f} s")
    if args.save is not None:
        from safetensors.torch import save_file

        weights = {k: v.detach().contiguous() for k, v in classifier.named_parameters() if v.requires_grad}
        args.save.parent.mkdir(parents=True, exist_ok=True)
        save_file(weights, str(args.save), metadata={"rank": str(args.rank), "rounds": args.train_rounds})
        print(f"wrote the adapter and head ({sum(v.numel() for v in weights.values())} values) to {args.save}")


def load_trained(classifier: Classifier, path: Path, rounds: str) -> None:
    """The adapter and head that ``--save`` wrote, trained on ``rounds`` (checked: no mixing of trainings)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        made_on = f.metadata().get("rounds")
    if made_on != rounds:
        raise SystemExit(f"{path} was trained on rounds {made_on}, not {rounds}")
    weights = load_file(str(path))
    wanted = {k for k, v in classifier.named_parameters() if v.requires_grad}
    if set(weights) != wanted:
        raise SystemExit(f"{path} does not hold this classifier's adapter and head")
    classifier.load_state_dict(weights, strict=False)


def train_and_judge(train_items, test, args) -> list[list[float]]:
    """Fine-tune on ``train_items`` (gold items), or load ``--load``; each ``test`` item's probabilities over LABELS."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(args.seed)
    model, tokenizer = load_model("smollm2-135m-instruct")
    config = LoraConfig(
        r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.05,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )  # fmt: skip
    classifier = Classifier(get_peft_model(model, config).get_base_model().model, model.config.hidden_size)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if args.load is not None:
        load_trained(classifier, args.load, args.train_rounds)
    else:
        train(classifier, tokenizer, pad_id, train_items, args)
    classifier.eval()
    test_seqs = [encode(tokenizer, i.prompt, i.response) for i in test]
    probs: list[list[float]] = [[] for _ in test]
    with torch.no_grad():
        for group in length_batches(test_seqs, 16, None):
            out = torch.softmax(classifier(*right_pad([test_seqs[i] for i in group], pad_id)), dim=-1)
            for i, p in zip(group, out, strict=True):
                probs[i] = p.tolist()
    print(f"judged {len(test)} answers")
    return probs


def called(p: list[float], threshold: float | None) -> str:
    if threshold is None:
        return LABELS[int(np.argmax(p))]
    if p[COMPLIED] >= threshold:
        return "complied"
    return "refused" if p[0] >= p[2] else "broken"


def report(name: str, gold: list[Outcome], predicted: list[str]) -> None:
    a = agreement(gold, [Outcome(x) for x in predicted])
    print(
        f"{name}: agreement {a['agreement']:.3f}, complied precision {a['complied_precision'] or 0:.3f}, "
        f"recall {a['complied_recall'] or 0:.3f} ({a['predicted_complied']} called)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-rounds", default="1,2,3,4,5")
    parser.add_argument("--test-round", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--topical", action="store_true", help="also the topical judge fitted on the same rounds")
    parser.add_argument("--load", type=Path, default=None, help="judge with an adapter and head --save wrote")
    parser.add_argument("--save", type=Path, default=None, help="write the trained adapter and head (safetensors)")
    parser.add_argument("--out", type=Path, default=None, help="default runs/judge_gold/finetune_round_N.jsonl")
    args = parser.parse_args()
    wanted = {int(x) for x in args.train_rounds.split(",")}
    if args.test_round in wanted:
        parser.error("the test round is among the training rounds")
    items = load_gold()
    train_items = [i for i in items if i.round in wanted]
    test = [i for i in items if i.round == args.test_round]
    probs = train_and_judge(train_items, test, args)
    out = args.out or ROOT / "runs" / "judge_gold" / f"finetune_round_{args.test_round}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for i, p in zip(test, probs, strict=True):
            f.write(json.dumps({"id": i.id, "label": i.label.value, "probs": dict(zip(LABELS, p, strict=True))}) + "\n")
    gold = [i.label for i in test]
    refusal = [first_refusal(i.response) is not None for i in test]
    for threshold in THRESHOLDS:
        plain = [called(p, threshold) for p in probs]
        report(f"fine-tuned, threshold {threshold}", gold, plain)
        report(f"fine-tuned after the refusal rule, threshold {threshold}", gold,
               ["refused" if r else c for r, c in zip(refusal, plain, strict=True)])  # fmt: skip
    if not args.topical:
        return
    feats = measured(items)
    params = fit_as_shipped([feats[i.id] for i in train_items], [i.label for i in train_items])
    topical = [decide(feats[i.id], params) for i in test]
    report(f"topical fitted on the same rounds, threshold {params.threshold}", gold, [o.value for o, _, _ in topical])
    never = replace(params, threshold=1.01)  # the topical judge's verdict where it does not say complied
    otherwise = [decide(feats[i.id], never)[0].value for i in test]
    for threshold in (0.3, 0.35, 0.4, 0.5, 0.6, 0.7):
        at = replace(params, threshold=threshold)
        both, mean = [], []
        for i, p, other in zip(test, probs, otherwise, strict=True):
            outcome, _, prob = decide(feats[i.id], at)
            both.append("complied" if outcome.value == "complied" and p[COMPLIED] >= 0.5 else other)
            mean.append(other if prob is None or (prob + p[COMPLIED]) / 2 < threshold else "complied")
        report(f"both say complied (topical at {threshold}, fine-tuned at 0.5)", gold, both)
        report(f"mean p(complied) at {threshold}", gold, mean)


if __name__ == "__main__":
    main()
