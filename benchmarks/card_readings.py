"""The organism card's refusal figures checked by reading: two blind readings of the card's answers, against the
card's own measures (the default judge on harmful sets, the refusal opening on harmless ones).

    .venv/bin/python benchmarks/card_readings.py \
        [--readings benchmarks/readings/organism_v9_card.jsonl] [--answers runs/organism_v9/organism_card_answers.jsonl]
        [--readings ... --answers ...]  # several recipes: each, then the card's judge over all of them together

The readings file holds one line per answer: the card's model (``tuned`` or the untuned ``base``), its card set,
prompt and response, the two readers' labels (``reader_a``, ``reader_b``: refused, complied or broken, under
docs/labeling-rules.md; the readers saw neither the set nor each other) and the settled ``label`` (a third reading
where they differ, with ``settled_because``).
``benchmarks/readings/organism_v9_card.jsonl`` reads the version-9 organism's answers to the two other-form harmful
sets (Do-Not-Answer's Malicious Uses, the question-form harmful requests) and the two harmless sets, and the untuned
model's answers to the harmless sets (`organism card`, stop 29); ``organism_v8_card.jsonl`` the version-8 organism's
answers to the harmless sets; ``organism_v10_card.jsonl`` the version-10 organism's answers to all four sets (stop
32), ``organism_v11_card.jsonl`` the version-11 organism's (stop 33) and ``organism_v12_card.jsonl`` the version-12
organism's (stop 34); ``blind_harmless_*.jsonl`` read five models' answers to benchmarks/organism_overrefusal.py's 206
harmless requests. With ``--answers``, each reading is matched to the card's answer file to set the card's measures
beside it, and the card's judge is scored against the readings on every answer it judged. With ``--paired OTHER``
(another model's readings of the same requests), each set's refusals by reading are compared request by request: how
many each model alone refuses, and the exact two-sided McNemar p-value of that split (a binomial test on the requests
where the two differ).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

from safetyheads.evaluation.asr import bootstrap_ci
from safetyheads.runs.gold import agreement
from safetyheads.types import Outcome

ROOT = Path(__file__).resolve().parents[1]
READINGS = ROOT / "benchmarks" / "readings" / "organism_v9_card.jsonl"


def key(row: dict) -> tuple[str, str, str, str]:
    """What matches a reading to the card's answer: model, set, request and answer."""
    return row["model"], row["set"], row["prompt"], row["response"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=Path, action="append", help="a readings file (repeatable; default: v9's)")
    parser.add_argument(
        "--answers", type=Path, action="append", help="the card's organism_card_answers.jsonl for each --readings"
    )
    parser.add_argument("--paired", type=Path, help="another model's readings of the same requests, to compare with")
    args = parser.parse_args()
    readings = args.readings or [READINGS]
    answers = args.answers or [None] * len(readings)
    if len(answers) != len(readings):
        raise SystemExit(f"{len(readings)} --readings but {len(answers)} --answers: give one card's answers per file")
    if args.paired is not None and len(readings) > 1:
        raise SystemExit("--paired compares one readings file with another: give one --readings")
    judged: list[tuple[dict, dict]] = []
    for path, card in zip(readings, answers, strict=True):
        if len(readings) > 1:
            print(f"== {path}")
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        judged += report(rows, card)
    if len(readings) > 1 and judged:  # every file's judged answers together
        print_judge(judged, f"all {len(readings)} files")
    if args.paired is not None:
        paired(rows, [json.loads(line) for line in args.paired.read_text().splitlines() if line.strip()], args.paired)


def report(rows: list[dict], answers: Path | None) -> list[tuple[dict, dict]]:
    """Print refusal by reading per model and set (beside the card's measures when ``answers`` is given) and the
    card's judge against the readings; return the (reading, card answer) pairs the judge judged."""
    found: list[dict | None] = [None] * len(rows)  # each reading's answer in the card's file
    if answers is not None:
        card = {key(r): r for r in map(json.loads, answers.read_text().splitlines())}
        missing = [r for r in rows if key(r) not in card]
        if missing:
            raise SystemExit(f"{len(missing)} readings have no answer in {answers}: another model or card")
        found = [card[key(r)] for r in rows]
    same = sum(r["reader_a"] == r["reader_b"] for r in rows)
    print(f"{len(rows)} answers; the readers agree on {same} ({same / len(rows):.1%})")
    for model, name in sorted({(r["model"], r["set"]) for r in rows}, key=lambda k: (k[0] != "tuned", k[1])):
        part = [(r, f) for r, f in zip(rows, found, strict=True) if (r["model"], r["set"]) == (model, name)]
        refused = [r["label"] == "refused" for r, _ in part]
        low, high = bootstrap_ci(refused)
        counts = Counter(r["label"] for r, _ in part)
        line = (
            f"{model}, {name} ({len(part)}): refused by reading {sum(refused) / len(part):.1%} [{low:.1%}, {high:.1%}] "
            f"(refused {counts['refused']}, complied {counts['complied']}, broken {counts['broken']})"
        )
        if answers is not None:
            opening = [f["opens_with_refusal"] for _, f in part]
            line += f"; card: refusal opening {sum(opening) / len(part):.1%}"
            if all("outcome" in f for _, f in part):
                by_judge = [f["outcome"] == "refused" for _, f in part]
                both = sum(j == r for j, r in zip(by_judge, refused, strict=True))
                line += (
                    f", judge refused {sum(by_judge) / len(part):.1%} (same call as reading on {both} of {len(part)})"
                )
        print(line)
    judged = [(r, f) for r, f in zip(rows, found, strict=True) if f is not None and "outcome" in f]
    if judged:  # the card's judge against the readings, on every answer it judged (the harmful sets)
        print_judge(judged, "the card's judge")
    return judged


def print_judge(judged: list[tuple[dict, dict]], label: str) -> None:
    """The judge's agreement with the readings, and its precision and recall on ``complied``."""
    a = agreement([Outcome(r["label"]) for r, _ in judged], [Outcome(f["outcome"]) for _, f in judged])
    print(
        f"{label} on the {a['n']} answers it judged: agreement {a['agreement']:.1%}, complied precision "
        f"{a['complied_precision']:.1%} ({a['matrix']['complied']['complied']} of {a['predicted_complied']}), "
        f"recall {a['complied_recall']:.1%} (of {a['gold_complied']})"
    )


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value: a binomial test with p = 1/2 on the pairs where the two differ."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2**n)


def paired(rows: list[dict], other: list[dict], name: Path) -> None:
    """Refusal by reading of the tuned model against another's, request by request, for each set both read."""
    theirs = {(r["set"], r["prompt"]): r["label"] == "refused" for r in other if r["model"] == "tuned"}
    for set_name in sorted({r["set"] for r in rows if r["model"] == "tuned"}):
        both = [(r["label"] == "refused", theirs[(set_name, r["prompt"])]) for r in rows
                if r["model"] == "tuned" and r["set"] == set_name and (set_name, r["prompt"]) in theirs]  # fmt: skip
        if not both:
            continue
        only_here = sum(a and not b for a, b in both)
        only_there = sum(b and not a for a, b in both)
        print(
            f"{set_name} ({len(both)} requests read for both): refused here only {only_here}, in {name.name} only "
            f"{only_there}; exact McNemar p {mcnemar_p(only_here, only_there):.3f}"
        )


if __name__ == "__main__":
    main()
