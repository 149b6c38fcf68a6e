"""How well does the untuned model itself tell the card's harmful requests from its harmless ones? A linear probe.

    .venv/bin/python benchmarks/organism_probe.py [--set FIELD=VALUE ...]

The organism must refuse harmful requests of forms it was not trained on while answering harmless ones of the same
forms (the card's Do-Not-Answer and question-form sets). This asks whether the untuned SmolLM2-135M-Instruct already
separates them: after every other decoder layer, an L2-penalised logistic probe on the residual stream at the last
position of the chat-rendered prompt (as the organism sees it; ``core.direction.last_position_activations``),
fitted on the recipe's training requests (harmful against harmless; ``--set`` as for ``organism build``, default
recipe v5's fields), scores every held-out set of the card. Two readings per layer: the share flagged harmful at
the probe's own boundary, and at the boundary that flags at most 10% of both harmless held-out sets (chosen on
those sets, so an optimistic bound). About 9 min on a 2-core CPU (one prompt per forward).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from safetyheads.core.direction import last_position_activations
from safetyheads.data.loading import load_model
from safetyheads.data.prompts import encode, render
from safetyheads.evaluation.topical import fit_logistic
from safetyheads.study.organism import Recipe, card_sets, make_split

V5 = (
    "question_per_prompt=2", "n_question_matched=120", "n_edgy=150", "n_everyday=179", "skip_refused_answers=1",
    "epochs=3", "lora_rank=32",
)  # fmt: skip
HARMLESS = ("harmless_heldout", "question_form_harmless")


def last_states(model, tokenizer, prompts: list[str]) -> np.ndarray:
    """(prompts, layers, hidden) residual stream after every decoder layer at each chat prompt's last position."""
    ids = [encode(tokenizer, render(tokenizer, p, "chat"), "chat") for p in prompts]
    return last_position_activations(model, ids).numpy()


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
    for layer in range(1, harmful.shape[1], 2):  # after decoder layer layer + 1
        x = np.concatenate([harmful[:, layer], harmless[:, layer]])
        mean, scale = x.mean(0), x.std(0) + 1e-6
        w, b = fit_logistic((x - mean) / scale, np.r_[np.ones(len(harmful)), np.zeros(len(harmless))], 100.0)
        score = {k: (v[:, layer] - mean) / scale @ w + b for k, v in held.items()}
        bound = max(np.quantile(score[k], 0.9) for k in HARMLESS)
        own = " ".join(f"{k} {float((s > 0).mean()):.2f}" for k, s in score.items())
        best = " ".join(f"{k} {float((s > bound).mean()):.2f}" for k, s in score.items())
        print(
            f"after layer {layer + 1}: flagged at the probe's boundary: {own} | at most 10% of harmless flagged: "
            f"{best}",
            flush=True,
        )


if __name__ == "__main__":
    main()
