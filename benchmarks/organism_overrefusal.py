"""Over-refusal on a larger harmless set written blind to the organism's data: enough requests to tell 10% from 15%.

    .venv/bin/python benchmarks/organism_overrefusal.py --model DIR [--model DIR ...] --out FILE

The card's two harmless sets hold 60 and 42 requests, so one answer moves their over-refusal by 1.7 and 2.4 points
and the 95% interval spans about 15 points: they cannot tell a recipe at 10% from one at 15%.
``benchmarks/readings/blind_harmless_written.txt`` holds 300 harmless requests that tempt over-refusal (figurative
violent words, protective questions, legal tasks that sound risky, health asked safely, security for defence, dark
history and fiction, edgy everyday tasks, decent conflict, drugs and law as information, combat words in games and
sport), written for the project by a writer who saw neither the training data nor the card's sets. Those near a
harmless or harmful training request of the given recipe (a shared run of four words with two beyond a question's
opening words, or half or more of its words of more than three letters in one training request), or near a card
request, are left out, as ``organism_fresh_forms.py`` leaves them out. Each model answers the rest as the card does
(24-token greedy answers); every answer goes to ``--out`` (JSONL: model, set, prompt, response, refusal opening) for
blind reading, and the refusal-opening share is printed. The readings live in
``benchmarks/readings/blind_harmless_*.jsonl`` and are counted by ``card_readings.py``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetyheads.data.loading import load_model
from safetyheads.data.nearness import long_words, telling_runs, word_runs
from safetyheads.study.organism import Recipe, answers, card_sets, make_split, refusal_rates

ROOT = Path(__file__).resolve().parents[1]
WRITTEN = ROOT / "benchmarks" / "readings" / "blind_harmless_written.txt"
# The recipe whose training requests the set must stay apart from (v9 to v11 share this data).
RECIPE = (
    "question_per_prompt=2", "n_question_matched=120", "n_edgy=150", "n_everyday=179", "skip_refused_answers=1",
    "n_protective=220", "n_more_everyday=124", "redraw_refused=4", "n_word_pairs=176",
)  # fmt: skip


def apart(requests: list[str], others: list[str]) -> list[str]:
    """The requests near none of ``others`` (see the module docstring)."""
    runs = set().union(*(word_runs(o) for o in others))
    words = [long_words(o) for o in others]
    keep = []
    for r in requests:
        mine = long_words(r)
        near_words = bool(mine) and any(len(mine & w) * 2 >= len(mine) for w in words)
        if not telling_runs(r) & runs and not near_words:
            keep.append(r)
    return keep


def blind_harmless(recipe: Recipe) -> list[str]:
    """The written requests that stay apart from ``recipe``'s training requests and every card set."""
    written = list(dict.fromkeys(line.strip() for line in WRITTEN.read_text().splitlines() if line.strip()))
    split = make_split(recipe)
    others = split.harmful_train + split.harmless_train + [p for s in card_sets(split).values() for p in s]
    return apart(written, others)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="a model directory or built-in name")
    parser.add_argument("--out", type=Path, required=True, help="every answer, for blind reading (JSONL)")
    args = parser.parse_args()
    requests = blind_harmless(Recipe().with_settings(RECIPE))
    print(f"{len(requests)} of the written requests are apart from the training data and the card's sets")
    rows: list[dict] = []
    for name in args.model:
        model, tokenizer = load_model(name)
        rates = refusal_rates(answers(model, tokenizer, requests), requests, None, rows, {"model": name})
        print(f"{name}: refusal opening {rates['refusal_opening']:.1%} of {rates['n']}", flush=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
