"""The GPU check, one prepared run: a random model of Llama-2-7B's shape in bfloat16.

On the same prompts, in one process, it times

* the naive loop: one full forward per head, ``ablated(model, [head])`` (every head of the model);
* the exact sweep: the engine's batched rows with layer reuse (``ships.ships_for_prompt``);
* the screen: one forward and ``--tokens`` backward passes per prompt (``screen.screen_prompt``);

and reports the exact sweep's speed-up over the naive loop, the largest difference between the two (they compute the
same numbers), the screen's Spearman and top-10 recall against the exact sweep, and the screen's peak GPU memory on a
``--memory-tokens`` prompt (512 by default). Results go to ``--out`` (JSON) and stdout.

    python benchmarks/gpu_sweep.py --out $OUT/gpu_sweep.json              # on a GPU: 7B shape, bfloat16
    python benchmarks/gpu_sweep.py --shape tiny --device cpu --dtype float32   # a smoke run anywhere

``--estimate-memory`` instead counts, on any device, the bytes autograd keeps for the screen's backward pass per
decoder layer of the 7B shape at ``--memory-tokens`` tokens (two layers built, the rest extrapolated), and prints
the computed peak for the whole model.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from safetyheads.core.ablation import ablated
from safetyheads.core.engine import Engine, kl_divergence
from safetyheads.core.families import model_shape
from safetyheads.scores.screen import GRAD_ROWS, screen_prompt
from safetyheads.scores.ships import ships_for_prompt
from safetyheads.types import AblationSpec, Head

SHAPES = {
    "7b": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
               num_attention_heads=32, num_key_value_heads=32),
    "135m": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                 num_attention_heads=9, num_key_value_heads=3, head_dim=64),
    "tiny": dict(vocab_size=512, hidden_size=128, intermediate_size=256, num_hidden_layers=4,
                 num_attention_heads=8, num_key_value_heads=8),
}  # fmt: skip
DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}


def build(shape: str, device: str, dtype: torch.dtype, layers: int | None = None) -> LlamaForCausalLM:
    cfg = LlamaConfig(**{**SHAPES[shape], **({"num_hidden_layers": layers} if layers else {})}, initializer_range=0.02)
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(cfg)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def naive_ships(model, ids: torch.Tensor, heads: list[Head], spec: AblationSpec) -> dict[Head, float]:
    """One full forward per head under the run-time ablation: the loop the engine replaces."""
    with torch.no_grad():
        base = model(input_ids=ids, use_cache=False, logits_to_keep=1).logits[0, -1].double().log_softmax(-1)
        out = {}
        for h in heads:
            with ablated(model, [h], spec):
                lp = model(input_ids=ids, use_cache=False, logits_to_keep=1).logits[0, -1].double().log_softmax(-1)
            out[h] = float(kl_divergence(base, lp))
    return out


def ranks(values: list[float]) -> torch.Tensor:
    return torch.tensor(values).argsort().argsort().double()


def spearman(a: list[float], b: list[float]) -> float:
    return float(torch.corrcoef(torch.stack([ranks(a), ranks(b)]))[0, 1])


def timed(fn, device: str):
    sync(device)
    t0 = time.perf_counter()
    value = fn()
    sync(device)
    return value, time.perf_counter() - t0


def saved_bytes(model, ids: torch.Tensor) -> int:
    """Bytes of the tensors autograd keeps for the screen's backward (each storage once; the weights, kept by
    reference, not counted)."""
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: set[int] = set()
    total = 0

    def pack(t: torch.Tensor):
        nonlocal total
        ptr = t.untyped_storage().data_ptr()
        if ptr not in weights and ptr not in seen:
            seen.add(ptr)
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        screen_prompt(model, ids, AblationSpec(), tokens=1)
    return total


def estimate_memory(args) -> dict:
    """Bytes autograd saves for the screen's backward, per layer, from a two-layer model of the full shape."""
    dtype = DTYPES[args.dtype]
    per_layer = {}
    for n in (1, 2):
        model = build(args.shape, args.device, dtype, layers=n)
        ids = torch.randint(1, 1000, (1, args.memory_tokens), device=args.device)
        saved = saved_bytes(model, ids)
        per_layer[n] = saved
        del model
    layer_bytes = per_layer[2] - per_layer[1]  # what one more decoder layer adds
    n_layers = SHAPES[args.shape]["num_hidden_layers"]
    params = sum(p.numel() for p in build(args.shape, "meta", dtype).parameters())
    weights = params * torch.finfo(dtype).bits // 8
    activations = per_layer[2] + (n_layers - 2) * layer_bytes
    # the batched backward (GRAD_ROWS rows at a time) holds about one layer's activation gradients per row
    backward_rows = GRAD_ROWS * layer_bytes
    # probes' gradients and per-head changes: two (T, hidden) tensors per layer, in the model's dtype and float64
    deltas = n_layers * args.memory_tokens * SHAPES[args.shape]["hidden_size"] * (2 * (dtype.itemsize) + 8)
    total = weights + activations + deltas + backward_rows
    return {
        "shape": args.shape,
        "dtype": args.dtype,
        "tokens": args.memory_tokens,
        "saved_bytes_per_layer": layer_bytes,
        "saved_bytes_two_layers": per_layer[2],
        "weights_bytes": weights,
        "activations_bytes": activations,
        "probe_and_delta_bytes": deltas,
        "batched_backward_bytes": backward_rows,
        "computed_peak_gib": total / 2**30,
    }


def run(args) -> dict:
    device, dtype = args.device, DTYPES[args.dtype]
    model = build(args.shape, device, dtype)
    spec = AblationSpec()
    shape = model_shape(model)
    heads = shape.all_heads(spec)
    g = torch.Generator().manual_seed(1)
    prompts = [
        torch.randint(1, shape.vocab_size, (1, args.length), generator=g).to(device) for _ in range(args.prompts)
    ]
    info = {
        "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else device,
        "shape": args.shape,
        "dtype": args.dtype,
        "n_heads": len(heads),
        "prompts": args.prompts,
        "prompt_tokens": args.length,
        "torch": torch.__version__,
    }
    engine = Engine(model, spec, args.batch_size)
    ships_for_prompt(engine, prompts[0], heads[: shape.n_heads])  # warm-up (kernels, allocator)
    naive, exact, screened = [], [], []
    t_naive = t_exact = t_screen = 0.0
    for ids in prompts:
        value, seconds = timed(lambda ids=ids: naive_ships(model, ids, heads, spec), device)
        naive.append(value)
        t_naive += seconds
        value, seconds = timed(lambda ids=ids: ships_for_prompt(engine, ids, heads), device)
        exact.append(value)
        t_exact += seconds
        value, seconds = timed(lambda ids=ids: screen_prompt(model, ids, spec, tokens=args.tokens).kl, device)
        screened.append(value)
        t_screen += seconds
    diffs = [abs(n[h] - e[h]) for n, e in zip(naive, exact, strict=True) for h in heads]
    mean_exact = {h: sum(e[h] for e in exact) / len(exact) for h in heads}
    mean_screen = {h: sum(s[h] for s in screened) / len(screened) for h in heads}
    top_exact = set(sorted(heads, key=lambda h: -mean_exact[h])[:10])
    top_screen = sorted(heads, key=lambda h: -mean_screen[h])
    info.update(
        naive_seconds=t_naive,
        exact_seconds=t_exact,
        screen_seconds=t_screen,
        exact_speedup_over_naive=t_naive / t_exact,
        screen_speedup_over_exact=t_exact / t_screen,
        max_abs_diff_exact_vs_naive=max(diffs),
        max_exact_value=max(mean_exact.values()),
        screen_tokens=args.tokens,
        screen_spearman=spearman([mean_exact[h] for h in heads], [mean_screen[h] for h in heads]),
        **{f"screen_recall_top10_in_{k}": len(top_exact & set(top_screen[:k])) / 10 for k in (10, 20, 50)},
    )
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        ids = torch.randint(1, shape.vocab_size, (1, args.memory_tokens), device=device)
        _, seconds = timed(lambda: screen_prompt(model, ids, spec, tokens=args.tokens), device)
        info.update(
            memory_tokens=args.memory_tokens,
            screen_peak_gib=torch.cuda.max_memory_allocated() / 2**30,
            screen_seconds_at_memory_tokens=seconds,
        )
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="7b")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bfloat16")
    parser.add_argument("--prompts", type=int, default=2)
    parser.add_argument("--length", type=int, default=64, help="Tokens per prompt for the timing.")
    parser.add_argument("--tokens", type=int, default=8, help="Screen tokens.")
    parser.add_argument("--batch-size", type=int, default=None, help="Engine rows per forward (default: automatic).")
    parser.add_argument("--memory-tokens", type=int, default=512)
    parser.add_argument("--estimate-memory", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    info = estimate_memory(args) if args.estimate_memory else run(args)
    print(json.dumps(info, indent=2))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)


if __name__ == "__main__":
    main()
