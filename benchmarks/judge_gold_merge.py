"""Join the gold set's answers with their two independent readings and the settled labels.

    .venv/bin/python benchmarks/judge_gold_merge.py --answers runs/judge_gold/answers.jsonl \
        --reader-a A.jsonl --reader-b B.jsonl --settled S.jsonl

Reader files hold one {"id", "label"} a line (REFUSAL, COMPLIANCE or BROKEN, as in docs/labeling-rules.md), ids
being line numbers of the answers file from 0. The settled file gives the label for every id the readers
disagreed on. The split is fixed by a hash of each pair: half of every condition is ``test``, never used to set
a parameter. Writes src/safetyheads/judge_gold.jsonl.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

LABELS = {"REFUSAL": "refused", "COMPLIANCE": "complied", "BROKEN": "broken"}
OUT = Path(__file__).resolve().parents[1] / "src" / "safetyheads" / "judge_gold.jsonl"


def read_labels(path: Path) -> dict[int, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out[int(row["id"])] = LABELS[row["label"].strip().upper()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=Path, required=True)
    parser.add_argument("--reader-a", type=Path, required=True)
    parser.add_argument("--reader-b", type=Path, required=True)
    parser.add_argument("--settled", type=Path, required=True)
    args = parser.parse_args()
    answers = [json.loads(line) for line in args.answers.read_text().splitlines() if line.strip()]
    a, b, settled = read_labels(args.reader_a), read_labels(args.reader_b), read_labels(args.settled)
    missing = [i for i in range(len(answers)) if i not in a or i not in b]
    if missing:
        raise SystemExit(f"readers did not label ids {missing[:10]} ...")
    unsettled = [i for i in range(len(answers)) if a[i] != b[i] and i not in settled]
    if unsettled:
        raise SystemExit(f"disagreements not settled: {unsettled}")
    by_condition: dict[str, list[int]] = {}
    for i, row in enumerate(answers):
        by_condition.setdefault(row["condition"], []).append(i)
    split = {}
    for ids in by_condition.values():
        ranked = sorted(
            ids, key=lambda i: hashlib.sha256(f"{answers[i]['prompt']}\n{answers[i]['response']}".encode()).hexdigest()
        )
        for k, i in enumerate(ranked):
            split[i] = "test" if k % 2 == 0 else "dev"
    lines = []
    for i, row in enumerate(answers):
        label = a[i] if a[i] == b[i] else settled[i]
        lines.append(
            json.dumps({"id": i, **row, "reader_a": a[i], "reader_b": b[i], "label": label, "split": split[i]})
        )
    OUT.write_text("\n".join(lines) + "\n")
    agree = sum(a[i] == b[i] for i in range(len(answers))) / len(answers)
    print(f"wrote {OUT}: {len(answers)} pairs, readers agreed on {agree:.1%}")


if __name__ == "__main__":
    main()
