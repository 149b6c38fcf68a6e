"""Time loading the built-in model: the first load (empty cache: GGUF dequantised and cached) and cached loads.

Every load runs in a fresh Python process, as a CLI user meets it, with SAFETYHEADS_CACHE pointing at a new
temporary directory (so the first load really starts from an empty cache) and the hub switched off. Times
are for ``load_model`` itself; the import of safetyheads/torch/transformers is reported separately.

    python benchmarks/bench_load.py [--model smollm2-135m-instruct] [--cached-runs 3] [--keep-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from safetyheads.data.loading import load_model
t1 = time.perf_counter()
model, tokenizer = load_model(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "params": sum(p.numel() for p in model.parameters())}))
"""


def one_load(model: str, cache: Path) -> dict:
    env = {**os.environ, "SAFETYHEADS_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, model], env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    if proc.returncode != 0:
        sys.exit(f"load failed (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--cached-runs", type=int, default=3)
    parser.add_argument("--keep-cache", action="store_true", help="leave the temporary cache in place")
    args = parser.parse_args()

    cache = Path(tempfile.mkdtemp(prefix="safetyheads-bench-cache-"))
    try:
        first = one_load(args.model, cache)
        cached = [one_load(args.model, cache) for _ in range(max(1, args.cached_runs))]
        loads = [r["load_s"] for r in cached]
        imports = statistics.median(r["import_s"] for r in cached)
        median = statistics.median(loads)
        print(f"bench_load: {args.model} ({first['params'] / 1e6:.1f}M parameters), CPU, a fresh process per load")
        rows = [
            ("first load, empty cache (GGUF -> safetensors)", first["load_s"], ""),
            (f"cached load, median of {len(loads)}", median, f"  (min {min(loads):.2f} s)"),
            ("import of safetyheads.data.loading, not included", imports, ""),
        ]
        for label, seconds, note in rows:
            print(f"  {label + ':':<48}{seconds:7.2f} s{note}")
        print(f"  cache speed-up {first['load_s'] / median:.1f}x; cache entry {size_of(cache) / 2**20:.0f} MiB")
    finally:
        if args.keep_cache:
            print(f"  cache kept at {cache}")
        else:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
