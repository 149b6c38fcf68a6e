"""Does a 1.5B model's likelihood of the answer tell the topical judge's right `complied` calls from wrong ones?

    .venv/bin/python benchmarks/judge_second_likelihood.py --gguf runs/judge_gold/qwen.gguf [--contexts request,code]

(The GGUF is assembled as in benchmarks/judge_veto_reader.py.) The topical judge's wrong `complied` calls are answers
that take up the task in form only: nonsense content, framing, a wrong topic. They were written by SmolLM2-135M
variants, so SmolLM2's own likelihood of them (the judge's coherence measure) says little. This scores each answer
under Qwen2.5-Coder-1.5B-Instruct instead: the per-token negative log-likelihood of the answer after the request
(through Qwen's chat template), and after unrelated requests of the same forms (topicality under the larger model).
Per-token NLLs are cached in runs/judge_gold/second_likelihood.npz. Among the topical judge's `complied` calls
(predicted with the pair's batch left out, as in judge_veto_reader) it prints each measurement's AUC for right
against wrong calls, and a read-out of the measurements plus the topical log-odds, fitted with the batch left out,
with the precision and recall on `complied` after vetoing calls below a cut.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judge_veto_reader import (  # noqa: E402
    asked_pairs,
    auc,
    cached,
    complied_calls,
    load_gguf,
    report_read_outs,
    report_veto,
)

from safetyheads.evaluation.continuations import continuation_logprobs  # noqa: E402
from safetyheads.evaluation.topical import UNRELATED_REQUESTS  # noqa: E402
from safetyheads.runs.gold import load_gold  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "judge_gold" / "second_likelihood.npz"
MAX_ANSWER_TOKENS = 96
SAVE_EVERY = 80  # answers between cache writes
CONTEXTS = {"request": None, "code": UNRELATED_REQUESTS[0], "story": UNRELATED_REQUESTS[3]}


def token_nlls(items, gguf: Path, context: str) -> dict[str, np.ndarray]:
    """Per-token NLL of each answer after ``context`` ("request": the pair's own), cached under ``<context><id>``."""
    made_with = json.dumps([str(gguf.resolve()), MAX_ANSWER_TOKENS])
    saved = cached(CACHE, made_with)
    todo = [i for i in items if f"{context}{i.id}" not in saved]
    if not todo:
        return saved
    tok, model = load_gguf(gguf)
    pairs = []
    for i in todo:
        chat = [{"role": "user", "content": i.prompt if CONTEXTS[context] is None else CONTEXTS[context]}]
        head = tok.encode(tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True))
        pairs.append((head, tok.encode(i.response)[:MAX_ANSWER_TOKENS]))
    t0 = time.perf_counter()
    for s in range(0, len(todo), SAVE_EVERY):
        logprobs = continuation_logprobs(model, pairs[s : s + SAVE_EVERY], batch_size=8)
        for i, row in zip(todo[s : s + SAVE_EVERY], logprobs, strict=True):
            saved[f"{context}{i.id}"] = (-row).numpy()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE, made_with=np.array(made_with), **saved)
        done = min(s + SAVE_EVERY, len(todo))
        print(f"{context}: {done}/{len(todo)} answers scored ({time.perf_counter() - t0:.0f} s)", flush=True)
    return saved


def measurements(nll: np.ndarray) -> list[float]:
    """Mean NLL, the mean of the worst quarter of tokens, the worst 8-token window and the share of tokens over 6
    nats."""
    worst = np.sort(nll)[::-1][: max(1, len(nll) // 4)]
    window = max(nll[k : k + 8].mean() for k in range(max(1, len(nll) - 7)))
    return [float(nll.mean()), float(worst.mean()), float(window), float((nll > 6.0).mean())]


NAMES = ("mean NLL", "worst-quarter NLL", "worst 8-token window", "share over 6 nats")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, required=True, help="the scoring model's GGUF file")
    parser.add_argument("--contexts", default="request", help=f"comma-separated, of {', '.join(CONTEXTS)}")
    args = parser.parse_args()
    asked_for = args.contexts.split(",")
    if "request" not in asked_for or any(c not in CONTEXTS for c in asked_for):
        parser.error(f"--contexts must include 'request' and be among {', '.join(CONTEXTS)}")
    contexts = ["request"] + [c for c in dict.fromkeys(asked_for) if c != "request"]  # the gaps are taken from it
    items = load_gold()
    topical, asked = asked_pairs(items)
    saved: dict[str, np.ndarray] = {}
    for context in contexts:
        saved = token_nlls(asked, args.gguf, context)
    called, right, fold, gold_complied, t_prob = complied_calls(items, topical)
    report_veto("topical probability (itself)", t_prob, right, gold_complied, (0.35, 0.5, 0.65))
    columns = []
    for context in contexts:
        m = np.array([measurements(saved[f"{context}{i.id}"]) for i in called])
        for k, name in enumerate(NAMES):
            print(f"{context}, {name}: AUC (lower is right) {auc(-m[:, k], right):.3f}")
        columns.append(m)
    for c in range(1, len(contexts)):  # contexts[0] is the request itself
        gap = columns[c][:, 0] - columns[0][:, 0]
        print(f"topicality vs {contexts[c]} (mean NLL gap): AUC {auc(gap, right):.3f}")
        columns.append(gap[:, None])
    report_read_outs(np.concatenate(columns, axis=1), right, fold, gold_complied, t_prob)


if __name__ == "__main__":
    main()
