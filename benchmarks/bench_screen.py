"""How good is the Ships screen? Its ranking against the exact sweep's, and what each costs, in one run.

Suites (all on this machine's device, float32):

* ``organism``: the safety-tuned SmolLM2 organism (30 layers x 9 heads = 270), the demo's AdvBench attribution
  prompts in the chat template (``--organism-prompts``, default 3 as in the demo);
* ``families``: random models of three families (Llama with GQA, GPT-2, Qwen3 with q/k norm), 8 layers x 8 heads;
* ``large``: a random Llama with 16 layers x 64 heads = 1,024 heads.

Per suite and per number of screen tokens it prints and saves: Spearman's rank correlation of the per-head mean
over prompts (screen against exact), the recall of the exact top 10 within the screened top 10, 20 and 50, and the
cost of each in forward-equivalents (a forward = 1; a backward = 2; the exact sweep's rows count the layers they
run, as the engine reuses the layers below each head) and in seconds.

    python benchmarks/bench_screen.py [--suites organism,families,large] [--tokens 4,8,16] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

from safetyheads.core.engine import Engine
from safetyheads.core.families import model_shape
from safetyheads.scores.screen import ScreenCost, exact_sweep_cost, screen_prompt
from safetyheads.scores.ships import ships_for_prompt
from safetyheads.types import AblationSpec, Head

RECALL_AT = (10, 20, 50, 75, 100)


def _ranks(values: torch.Tensor) -> torch.Tensor:
    return values.argsort().argsort().double()


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = _ranks(torch.tensor(a)), _ranks(torch.tensor(b))
    return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])


def recall(exact: dict[Head, float], screened: dict[Head, float], k: int, top: int = 10) -> float:
    best = set(sorted(exact, key=lambda h: (-exact[h], h))[:top])
    found = set(sorted(screened, key=lambda h: (-screened[h], h))[:k])
    return len(best & found) / len(best)


def _ranks_of(exact: dict[Head, float], screened: dict[Head, float]) -> dict[str, int]:
    """The screened rank (1 = best) of each of the exact top 10."""
    order = {h: i for i, h in enumerate(sorted(screened, key=lambda h: (-screened[h], h)), 1)}
    return {str(h): order[h] for h in sorted(exact, key=lambda h: (-exact[h], h))[:10]}


def mean_over(per_prompt: list[dict[Head, float]]) -> dict[Head, float]:
    return {h: sum(p[h] for p in per_prompt) / len(per_prompt) for h in per_prompt[0]}


def measure(name: str, model: torch.nn.Module, prompts: list[torch.Tensor], tokens: list[int]) -> dict:
    """The exact sweep and the screen at each token count, on the same prompts, with their costs."""
    spec = AblationSpec()
    shape = model_shape(model)
    heads = shape.all_heads(spec)
    engine = Engine(model, spec)
    exact: list[dict[Head, float]] = []
    t0 = time.perf_counter()
    for ids in prompts:
        exact.append(ships_for_prompt(engine, ids, heads))
    exact_seconds = time.perf_counter() - t0
    exact_fe = len(prompts) * exact_sweep_cost(shape, spec, heads)
    exact_mean = mean_over(exact)
    row: dict = {
        "suite": name,
        "n_heads": len(heads),
        "layers_x_heads": f"{shape.n_layers} x {shape.n_heads}",
        "n_prompts": len(prompts),
        "prompt_tokens": [int(p.shape[-1]) for p in prompts],
        "exact": {"forward_equivalents": exact_fe, "seconds": exact_seconds},
        "screen": [],
    }
    for k in tokens:
        cost = ScreenCost()
        screened: list[dict[Head, float]] = []
        mass = []
        for ids in prompts:
            s = screen_prompt(model, ids, spec, tokens=k)
            screened.append(s.kl)
            cost.add(s.cost)
            mass.append(s.mass)
        mean = mean_over(screened)
        per_prompt_rho = [
            spearman([e[h] for h in heads], [s[h] for h in heads]) for e, s in zip(exact, screened, strict=True)
        ]
        row["screen"].append(
            {
                "tokens": k,
                "mean_mass": sum(mass) / len(mass),
                "spearman": spearman([exact_mean[h] for h in heads], [mean[h] for h in heads]),
                "median_prompt_spearman": float(torch.tensor(per_prompt_rho).median()),
                **{f"recall_top10_in_{n}": recall(exact_mean, mean, n) for n in RECALL_AT},
                "forward_equivalents": cost.forward_equivalents,
                "seconds": cost.seconds,
                "fewer_forward_equivalents": exact_fe / cost.forward_equivalents,
                "faster_seconds": exact_seconds / cost.seconds,
                "exact_top10": [str(h) for h in sorted(exact_mean, key=lambda h: (-exact_mean[h], h))[:10]],
                "screen_top10": [str(h) for h in sorted(mean, key=lambda h: (-mean[h], h))[:10]],
                "exact_top10_screen_ranks": _ranks_of(exact_mean, mean),
            }
        )
    return row


def organism_suite(n_prompts: int) -> tuple[torch.nn.Module, list[torch.Tensor]]:
    from safetyheads.data.datasets import load_prompt_dataset
    from safetyheads.data.loading import load_model
    from safetyheads.data.prompts import prepare
    from safetyheads.study.organism import ORGANISM, build

    build(log=print)
    model, tok = load_model(ORGANISM)
    texts = [item.text for item in load_prompt_dataset("advbench:attribution")[:n_prompts]]
    return model, [ids for _t, ids in prepare(tok, texts, "chat")]


def _random_prompts(vocab: int, n: int, length: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(1, vocab, (1, length), generator=g) for _ in range(n)]


def _random(build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    torch.manual_seed(0)
    return build().eval()


FAMILY_MODELS: dict[str, Callable[[], torch.nn.Module]] = {
    "llama (GQA)": lambda: LlamaForCausalLM(
        LlamaConfig(
            vocab_size=2048,
            hidden_size=256,
            intermediate_size=512,
            num_hidden_layers=8,
            num_attention_heads=8,
            num_key_value_heads=2,
            initializer_range=0.1,
        )  # fmt: skip
    ),
    "gpt2": lambda: GPT2LMHeadModel(
        GPT2Config(vocab_size=2048, n_embd=256, n_layer=8, n_head=8, n_positions=128, initializer_range=0.1)
    ),
    "qwen3 (q/k norm)": lambda: Qwen3ForCausalLM(
        Qwen3Config(
            vocab_size=2048,
            hidden_size=256,
            intermediate_size=512,
            num_hidden_layers=8,
            num_attention_heads=8,
            num_key_value_heads=4,
            head_dim=32,
            initializer_range=0.1,
        )  # fmt: skip
    ),
}


def large_model() -> torch.nn.Module:
    cfg = LlamaConfig(
        vocab_size=4096,
        hidden_size=1024,
        intermediate_size=2048,
        num_hidden_layers=16,
        num_attention_heads=64,
        num_key_value_heads=16,
        head_dim=16,
        initializer_range=0.05,
    )
    return _random(lambda: LlamaForCausalLM(cfg))


def print_row(row: dict) -> None:
    print(f"\n{row['suite']}: {row['n_heads']} heads ({row['layers_x_heads']}), {row['n_prompts']} prompts")
    e = row["exact"]
    print(f"  exact sweep: {e['forward_equivalents']:.0f} forward-equivalents, {e['seconds']:.1f} s")
    print("  tokens  mass  spearman  recall@10  @20   @50   fwd-eq  (x fewer)  seconds (x faster)")
    for s in row["screen"]:
        print(
            f"  {s['tokens']:>6}  {s['mean_mass']:.2f}  {s['spearman']:>8.3f}  {s['recall_top10_in_10']:>9.2f}"
            f"  {s['recall_top10_in_20']:.2f}  {s['recall_top10_in_50']:.2f}  {s['forward_equivalents']:>6.0f}"
            f"  ({s['fewer_forward_equivalents']:.1f}x)  {s['seconds']:>7.1f} ({s['faster_seconds']:.1f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suites", default="organism,families,large")
    parser.add_argument("--tokens", default="4,8,16")
    parser.add_argument("--organism-prompts", type=int, default=3)
    parser.add_argument("--random-prompts", type=int, default=4)
    parser.add_argument("--length", type=int, default=32, help="Tokens per random prompt.")
    parser.add_argument("--out", default=None, help="Write the rows as JSON here.")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    tokens = [int(t) for t in args.tokens.split(",")]
    rows = []
    for suite in args.suites.split(","):
        if suite == "organism":
            model, prompts = organism_suite(args.organism_prompts)
            rows.append(measure(f"organism ({args.organism_prompts} attribution prompts)", model, prompts, tokens))
            print_row(rows[-1])
        elif suite == "families":
            for name, build in FAMILY_MODELS.items():
                model = _random(build)
                prompts = _random_prompts(2048, args.random_prompts, args.length, seed=1)
                rows.append(measure(f"random {name}", model, prompts, tokens))
                print_row(rows[-1])
        elif suite == "large":
            prompts = _random_prompts(4096, args.random_prompts, args.length, seed=2)
            rows.append(measure("random llama, 1,024 heads", large_model(), prompts, tokens))
            print_row(rows[-1])
        else:
            raise SystemExit(f"unknown suite {suite!r}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
