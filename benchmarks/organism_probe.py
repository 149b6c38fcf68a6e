"""How well does the untuned model itself tell the card's harmful requests from its harmless ones? A linear probe.

    .venv/bin/python benchmarks/organism_probe.py [--set FIELD=VALUE ...]

The organism must refuse harmful requests of forms it was not trained on while answering harmless ones of the same
forms (the card's Do-Not-Answer and question-form sets). This asks whether the untuned SmolLM2-135M-Instruct already
separates them: at every other layer, an L2-penalised logistic probe on the last prompt position's hidden state,
fitted on the recipe's training requests (harmful against harmless; ``--set`` as for ``organism build``, default
recipe v5's fields), scores every held-out set of the card. Two readings per layer: the share flagged harmful at
the probe's own boundary, and at the boundary that flags at most 10% of both harmless held-out sets (chosen on
those sets, so an optimistic bound).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from safetyheads.data.loading import load_model
from safetyheads.data.prompts import render
from safetyheads.study.organism import Recipe, card_sets, make_split

V5 = (
    "question_per_prompt=2", "n_question_matched=120", "n_edgy=150", "n_everyday=179", "skip_refused_answers=1",
    "epochs=3", "lora_rank=32",
)  # fmt: skip
HARMLESS = ("harmless_heldout", "question_form_harmless")


def last_states(model, tokenizer, prompts: list[str], batch: int = 32) -> np.ndarray:
    """(prompts, layers + 1, hidden) hidden states at the last position of each chat-rendered prompt."""
    tokenizer.padding_side = "left"
    out = []
    for s in range(0, len(prompts), batch):
        texts = [render(tokenizer, p) for p in prompts[s : s + batch]]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            hidden = model(**enc, output_hidden_states=True).hidden_states
        out.append(torch.stack([h[:, -1] for h in hidden], 1).double().numpy())
    return np.concatenate(out)


def logistic(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Weights (bias last) minimising the log-loss plus l2/2 times the squared weights, by Newton's method."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    penalty = np.full(len(w), l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        step = np.linalg.solve(
            (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-8), x.T @ (p - y) + penalty * w
        )
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=None, help="a recipe field, FIELD=VALUE (repeatable)")
    args = parser.parse_args()
    torch.manual_seed(0)
    recipe = Recipe().with_settings(args.set if args.set is not None else V5)
    split = make_split(recipe)
    sets = {k: v for k, v in card_sets(split).items() if k != "advbench_evaluation"}
    model, tokenizer = load_model("smollm2-135m-instruct")
    model.eval()
    harmful, harmless = (last_states(model, tokenizer, p) for p in (split.harmful_train, split.harmless_train))
    held = {k: last_states(model, tokenizer, v) for k, v in sets.items()}
    print(
        f"training: {len(harmful)} harmful, {len(harmless)} harmless; "
        + ", ".join(f"{k} {len(v)}" for k, v in held.items())
    )
    for layer in range(2, harmful.shape[1], 2):
        x = np.concatenate([harmful[:, layer], harmless[:, layer]])
        mean, scale = x.mean(0), x.std(0) + 1e-6
        w = logistic((x - mean) / scale, np.r_[np.ones(len(harmful)), np.zeros(len(harmless))], 100.0)
        score = {k: (v[:, layer] - mean) / scale @ w[:-1] + w[-1] for k, v in held.items()}
        bound = max(np.quantile(score[k], 0.9) for k in HARMLESS)
        own = " ".join(f"{k} {float((s > 0).mean()):.2f}" for k, s in score.items())
        best = " ".join(f"{k} {float((s > bound).mean()):.2f}" for k, s in score.items())
        print(
            f"layer {layer}: flagged at the probe's boundary: {own} | at most 10% of harmless flagged: {best}",
            flush=True,
        )


if __name__ == "__main__":
    main()
