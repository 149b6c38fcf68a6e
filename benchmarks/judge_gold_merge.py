"""Join the gold set's answers with their two independent readings and the settled labels.

    .venv/bin/python benchmarks/judge_gold_merge.py --answers runs/judge_gold/answers.jsonl \
        --reader-a A.jsonl --reader-b B.jsonl --settled S.jsonl

Reader files hold one {"id", "label"} a line (REFUSAL, COMPLIANCE or BROKEN, as in docs/labeling-rules.md), ids
being line numbers of the answers file from 0. The settled file gives the label for every id the readers
disagreed on. Answers 0-467 (two batches) are the ``dev`` part, on which the default judge was designed and
fitted; answers 468-701, a third batch generated and labelled after that design was set, are the ``test`` part,
never used to set anything. Writes src/safetyheads/judge_gold.jsonl.

``--round N`` (2 to 8) appends a later held-out batch (``judge_gold_answers.py --round N``) to the file as it
stands: its pairs get the next ids and become the ``test`` part; every earlier pair becomes ``dev`` (the earlier
test part was measured once and then used to redesign the judge, so it can no longer test it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LABELS = {"REFUSAL": "refused", "COMPLIANCE": "complied", "BROKEN": "broken"}
TEST_FROM = 468
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
    parser.add_argument("--round", type=int, choices=tuple(range(1, 9)), default=1)
    args = parser.parse_args()
    answers = [json.loads(line) for line in args.answers.read_text().splitlines() if line.strip()]
    a, b, settled = read_labels(args.reader_a), read_labels(args.reader_b), read_labels(args.settled)
    why = {int(r["id"]): r.get("why", "") for r in map(json.loads, args.settled.read_text().splitlines()) if r}
    missing = [i for i in range(len(answers)) if i not in a or i not in b]
    if missing:
        raise SystemExit(f"readers did not label ids {missing[:10]} ...")
    unsettled = [i for i in range(len(answers)) if a[i] != b[i] and i not in settled]
    if unsettled:
        raise SystemExit(f"disagreements not settled: {unsettled}")
    # The third batch (ids from TEST_FROM on) was generated and labelled after the judge's design was set on the
    # first two: it is the test part, never used to set anything.
    split = {i: "test" if i >= TEST_FROM or args.round >= 2 else "dev" for i in range(len(answers))}
    lines, offset = [], 0
    if args.round >= 2:
        earlier = [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()]
        if any(r.get("round", 1) >= args.round for r in earlier):
            raise SystemExit(f"{OUT} already holds round {args.round}")
        lines = [json.dumps({**r, "split": "dev", "round": r.get("round", 1)}) for r in earlier]
        offset = len(earlier)
    for i, row in enumerate(answers):
        label = a[i] if a[i] == b[i] else settled[i]
        record = {"id": offset + i, **row, "reader_a": a[i], "reader_b": b[i], "label": label, "split": split[i]}
        if args.round >= 2:
            record["round"] = args.round
        if a[i] != b[i]:
            record["settled_because"] = why[i]
        lines.append(json.dumps(record))
    OUT.write_text("\n".join(lines) + "\n")
    agree = sum(a[i] == b[i] for i in range(len(answers))) / len(answers)
    print(f"wrote {OUT}: {len(answers)} pairs, readers agreed on {agree:.1%}")


if __name__ == "__main__":
    main()
