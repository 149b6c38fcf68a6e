"""Why the screen misses some heads: Ships along the path from a head's output to its ablated output.

For each head, the change Δ of its attention output under the exact ablation is captured at its own layer (hooks on
the output projection, unablated and under ``ablated``); the head's output is then moved to o + tΔ and Ships(t) =
KL(p_base || p_t) computed with plain forwards. A second-order estimate (the screen's) equals Ships(t)/t² at small t;
when Ships(t)/t² grows with t, the full ablation does more than any estimate at the unablated point can see.

    python benchmarks/screen_nonlinearity.py [--heads 7-2,1-5,18-8,14-5] [--prompt 0] [--tokens 64]
"""

from __future__ import annotations

import argparse

import torch

from safetyheads.core.ablation import ablated
from safetyheads.core.engine import kl_divergence
from safetyheads.core.families import attention_modules, facts_for
from safetyheads.core.heads import parse_heads
from safetyheads.data.datasets import load_prompt_dataset
from safetyheads.data.loading import load_model
from safetyheads.data.prompts import prepare
from safetyheads.scores.screen import screen_prompt
from safetyheads.study.organism import ORGANISM, build
from safetyheads.types import AblationSpec

STEPS = (0.1, 0.25, 0.5, 1.0)


def out_proj(model, layer: int):
    return getattr(attention_modules(model)[layer], facts_for(model).out)


@torch.no_grad()
def head_input(model, ids, layer: int) -> torch.Tensor:
    seen = []
    handle = out_proj(model, layer).register_forward_pre_hook(lambda _m, a: seen.append(a[0].clone()))
    try:
        model(input_ids=ids, use_cache=False)
    finally:
        handle.remove()
    return seen[0]


@torch.no_grad()
def logprobs_moved(model, ids, layer: int, delta: torch.Tensor, t: float) -> torch.Tensor:
    handle = out_proj(model, layer).register_forward_pre_hook(lambda _m, a: (a[0] + t * delta, *a[1:]))
    try:
        logits = model(input_ids=ids, use_cache=False).logits[0, -1]
    finally:
        handle.remove()
    return logits.double().log_softmax(dim=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heads", default="7-2,1-5,18-8,14-5")
    parser.add_argument("--prompt", type=int, default=0, help="Index into AdvBench's attribution half.")
    parser.add_argument("--tokens", type=int, default=64, help="Screen tokens.")
    args = parser.parse_args()
    build(log=print)
    model, tok = load_model(ORGANISM)
    text = load_prompt_dataset("advbench:attribution")[args.prompt].text
    ids = prepare(tok, [text], "chat")[0][1]
    spec = AblationSpec()
    screen = screen_prompt(model, ids, spec, tokens=args.tokens)
    with torch.no_grad():
        base = model(input_ids=ids, use_cache=False).logits[0, -1].double().log_softmax(dim=-1)
    print(f"prompt {args.prompt}: {text!r}")
    print("head   screen  " + "  ".join(f"Ships(t)/t^2 t={t:g}" for t in STEPS) + "  Ships(1)")
    for head in parse_heads(args.heads):
        before = head_input(model, ids, head.layer)
        with ablated(model, [head], spec):
            delta = head_input(model, ids, head.layer) - before
        kls = [float(kl_divergence(base, logprobs_moved(model, ids, head.layer, delta, t))) for t in STEPS]
        ratios = "  ".join(f"{k / t**2:>17.4f}" for k, t in zip(kls, STEPS, strict=True))
        print(f"{str(head):<6} {screen.kl[head]:.4f}  {ratios}  {kls[-1]:.4f}")


if __name__ == "__main__":
    main()
