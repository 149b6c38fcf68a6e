"""Does topicality measured on the answer's own words tell the topical judge's right `complied` calls from wrong ones?

    .venv/bin/python benchmarks/judge_novel_topicality.py

The topical judge's wrong `complied` calls take up the task in form only: they restate the request's words and add
content unrelated to it ("A credit card skimming device is a device that allows you to remove the wax from a credit
card"). Its topicality measure, how much likelier the answer is after the request than after unrelated requests,
averages over every answer token, so the restated words, which the request makes near certain, lift it whatever
follows. This splits topicality by token under the judge's own scoring model and contexts: tokens of *novel* words
(letters only, at least 3 long, not a stopword, and not sharing a 5-letter stem with a word of the request) against
the rest. Per-token log-probabilities are cached in runs/judge_gold/novel_topicality.npz (SmolLM2-135M-Instruct;
70 min on a 2-core CPU shared with an organism build). Among the topical judge's `complied` calls (predicted with
the pair's batch left out, as in judge_veto_reader) it prints each measurement's AUC for right against wrong calls,
and a left-out read-out of the measurements with the topical log-odds, with precision and recall on `complied` after
vetoing calls below a cut.

No measurement ships: none separated the calls better than the topical judge's own probability (docs/evaluation.md).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judge_veto_reader import asked_pairs, auc, cached, complied_calls, report_read_outs, report_veto  # noqa: E402

from safetyheads.evaluation.continuations import continuation_logprobs  # noqa: E402
from safetyheads.evaluation.topical import SCORER, TopicalJudge  # noqa: E402
from safetyheads.runs.gold import load_gold  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "judge_gold" / "novel_topicality.npz"
WORD = re.compile(r"[A-Za-z]+")
STEM = 5
STOPWORDS = frozenset(
    "the and for that this with you your are can from have will not but all any one use its their they them then"
    " than there these those what when where which who how why was were been being has had into out about also some"
    " such more most other only own same very just may might must should would could here step steps first next"
    " make made need needs like well way ways able".split()
)
NAMES = ("novel-word topicality", "other-token topicality", "novel-word share", "novel-word topicality, best half")


def stems(text: str) -> set[str]:
    return {w.lower()[:STEM] for w in WORD.findall(text)}


def novel_mask(tokenizer, request: str, answer: str) -> tuple[list[int], np.ndarray]:
    """The answer's token ids and, for each, whether it lies in a novel word (see the module docstring)."""
    enc = tokenizer(answer, add_special_tokens=False, return_offsets_mapping=True)
    seen = stems(request)
    novel_chars = np.zeros(len(answer) + 1, dtype=bool)
    for m in WORD.finditer(answer):
        word = m.group().lower()
        if len(word) >= 3 and word not in STOPWORDS and word[:STEM] not in seen:
            novel_chars[m.start() : m.end()] = True
    mask = np.array([bool(novel_chars[a:b].any()) if b > a else False for a, b in enc.offset_mapping], dtype=bool)
    return list(enc.input_ids), mask


def token_logprobs(judge: TopicalJudge, items) -> dict[str, np.ndarray]:
    """Per-token log-probabilities of each answer after its request (``own<id>``) and after each unrelated request
    (``u<k>_<id>``), cached."""
    made_with = json.dumps([SCORER, list(judge.unrelated)])
    saved = cached(CACHE, made_with)
    if all(f"own{i.id}" in saved for i in items):
        return saved
    answers = [novel_mask(judge.tokenizer, i.prompt, i.response)[0] for i in items]
    t0 = time.perf_counter()
    contexts = [("own", [judge._context(i.prompt) for i in items])]
    contexts += [(f"u{k}_", [judge._context(u)] * len(items)) for k, u in enumerate(judge.unrelated)]
    for name, ctx in contexts:
        rows = continuation_logprobs(judge.scorer, list(zip(ctx, answers, strict=True)), judge.batch_size)
        for i, row in zip(items, rows, strict=True):
            saved[f"{name}{i.id}"] = row.double().numpy()
        print(f"{name}: {len(items)} answers ({time.perf_counter() - t0:.0f} s)", flush=True)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, made_with=np.array(made_with), **saved)
    return saved


def measurements(gap: np.ndarray, novel: np.ndarray) -> list[float]:
    """Mean topicality gap over novel-word tokens and over the rest, the novel share, and the mean of the better
    half of the novel-word gaps (0 where there are none)."""
    ours, rest = gap[novel], gap[~novel]
    best = np.sort(ours)[::-1][: max(1, len(ours) // 2)] if len(ours) else np.zeros(1)
    return [
        float(ours.mean()) if len(ours) else 0.0,
        float(rest.mean()) if len(rest) else 0.0,
        float(novel.mean()) if len(novel) else 0.0,
        float(best.mean()),
    ]


def main() -> None:
    items = load_gold()
    topical, asked = asked_pairs(items)
    judge = TopicalJudge.load()
    saved = token_logprobs(judge, asked)
    called, right, fold, gold_complied, t_prob = complied_calls(items, topical)
    report_veto("topical probability (itself)", t_prob, right, gold_complied, (0.35, 0.5, 0.65))

    def measured_pair(i) -> list[float]:
        own = saved[f"own{i.id}"]
        others = np.mean([saved[f"u{k}_{i.id}"] for k in range(len(judge.unrelated))], axis=0)
        return measurements(own - others, novel_mask(judge.tokenizer, i.prompt, i.response)[1])

    x = np.array([measured_pair(i) for i in called])
    for k, name in enumerate(NAMES):
        print(f"{name}: AUC (higher is right) {auc(x[:, k], right):.3f}")
    report_read_outs(x, right, fold, gold_complied, t_prob)
    by_label = {}
    for i in asked:
        by_label.setdefault(i.label.value, []).append(measured_pair(i)[0])
    print("every scored pair, median novel-word topicality by gold label: " + ", ".join(
        f"{label} {np.median(v):.2f} ({len(v)})" for label, v in sorted(by_label.items())))  # fmt: skip


if __name__ == "__main__":
    main()
