"""Set the topical judge's thresholds on the gold set's dev part, and show what they give on both parts.

    .venv/bin/python benchmarks/judge_fit.py

Measures every dev answer once (refusal phrase and position, topicality, coherence under the scoring model), then
searches a grid of thresholds for the highest agreement with the gold labels among settings whose precision and
recall on ``complied`` clear the targets with a margin (0.92 and 0.87); ties go to the simplest setting (the
widest refusal window, the lowest pmi, the highest nll, the fewest tokens: the least tuned). The chosen values are
the defaults of ``safetyheads.topical.TopicalParams``; this prints them and the agreement on dev and test. The
test part is only *reported* here, never used for the choice.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from safetyheads.gold import agreement, load_gold
from safetyheads.judges import Case
from safetyheads.topical import TopicalJudge, TopicalParams, decide


def outcomes(features, params):
    return [decide(f, params)[0] for f in features]


def main() -> None:
    judge = TopicalJudge.load()
    dev, test = load_gold("dev"), load_gold("test")
    t0 = time.perf_counter()
    dev_f = judge.features([Case(i.prompt, i.response) for i in dev])
    test_f = judge.features([Case(i.prompt, i.response) for i in test])
    print(f"measured {len(dev) + len(test)} answers in {time.perf_counter() - t0:.1f} s")
    gold = [i.label for i in dev]
    grid = itertools.product(
        np.round(np.arange(1.0, 0.0, -0.05), 2),  # refusal window, widest first
        np.round(np.arange(-0.5, 2.01, 0.05), 2),  # min pmi, lowest first
        np.round(np.arange(6.0, 1.99, -0.25), 2),  # max nll, highest first
        (1, 2, 4, 8),
    )
    best, best_key = None, None
    for window, pmi, nll, tokens in grid:
        params = TopicalParams(float(window), float(pmi), float(nll), int(tokens))
        a = agreement(gold, outcomes(dev_f, params))
        ok = (a["complied_precision"] or 0) >= 0.92 and (a["complied_recall"] or 0) >= 0.87
        key = (ok, round(a["agreement"], 6))
        if best_key is None or key > best_key:
            best, best_key = params, key
    print(f"chosen on dev: {best}")
    for name, items, feats in (("dev", dev, dev_f), ("test", test, test_f)):
        a = agreement([i.label for i in items], outcomes(feats, best))
        print(
            f"{name}: n {a['n']}, agreement {a['agreement']:.3f}, complied precision {a['complied_precision']:.3f}, "
            f"recall {a['complied_recall']:.3f}; matrix {a['matrix']}"
        )
    current = TopicalParams()
    print(f"shipped defaults: {current}" + (" (the chosen ones)" if current == best else " (differ from the chosen)"))


if __name__ == "__main__":
    main()
