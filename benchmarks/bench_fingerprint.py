"""Time ``runs.model_fingerprint`` (every value of every tensor) on a model of Llama-2-7B's shape.

The weights are allocated, not initialised randomly (the fingerprint reads raw bits, so their values do not change
its cost); the model is bfloat16 on this machine's CPU unless ``--device``/``--dtype`` say otherwise. Prints the
seconds and the throughput, and the older sampled fingerprint's time beside it.

    python benchmarks/bench_fingerprint.py [--shape 7b|135m] [--device cpu] [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import time

import torch
from gpu_sweep import SHAPES, build  # the same model shapes as the GPU script (benchmarks/ is on the path)

from safetyheads.runs.rundir import model_fingerprint, sample_fingerprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="7b")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    model = build(args.shape, "meta", dtype).to_empty(device=args.device)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.01)  # touch every page
    n = sum(p.numel() for p in model.parameters())
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    t0 = time.perf_counter()
    full = model_fingerprint(model)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    sample_fingerprint(model)
    sampled = time.perf_counter() - t0
    print(
        f"{args.shape} ({n / 1e9:.2f}B parameters, {size / 2**30:.1f} GiB {args.dtype} on {args.device}, "
        f"{torch.get_num_threads()} threads): every-value fingerprint {full} in {seconds:.1f} s "
        f"({size / 2**30 / seconds:.2f} GiB/s); the sampled one took {sampled:.2f} s"
    )


if __name__ == "__main__":
    main()
