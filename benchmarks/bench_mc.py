"""Time multiple-choice scoring with shared contexts against one forward per choice, in one run.

Scores the first N items of ARC-Easy and BoolQ under the built-in model both ways, alternating (shared, plain,
shared, plain, ...), and prints each way's median time, the ratio and the largest log-likelihood difference.

    python benchmarks/bench_mc.py [--items 100] [--repeats 2] [--model smollm2-135m-instruct]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    args = parser.parse_args()

    from safetyheads.data.datasets import load_mc_task
    from safetyheads.data.loading import load_model
    from safetyheads.evaluation.continuations import continuation_logprobs
    from safetyheads.evaluation.helpfulness import MC_BATCH_SIZE, default_add_bos, item_pairs

    model, tokenizer = load_model(args.model)
    print(f"{args.model}; {args.items} items per task; {args.repeats} alternating repeats; batch {MC_BATCH_SIZE}")
    print(f"{'task':10s} {'shared (s)':>11s} {'plain (s)':>10s} {'speed-up':>9s} {'max |diff|':>11s}")
    for task in ("arc_easy", "boolq"):
        items = load_mc_task(task, args.items)
        pairs = [p for item in items for p in item_pairs(tokenizer, item, default_add_bos(model))]
        times: dict[bool, list[float]] = {True: [], False: []}
        results: dict[bool, list] = {}
        for _ in range(args.repeats):
            for share in (True, False):
                start = time.perf_counter()
                results[share] = continuation_logprobs(model, pairs, MC_BATCH_SIZE, share_contexts=share)
                times[share].append(time.perf_counter() - start)
        diff = max(float((a - b).abs().max()) for a, b in zip(results[True], results[False], strict=True))
        shared, plain = statistics.median(times[True]), statistics.median(times[False])
        print(f"{task:10s} {shared:11.1f} {plain:10.1f} {plain / shared:8.2f}x {diff:11.1e}")


if __name__ == "__main__":
    main()
