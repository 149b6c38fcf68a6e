"""The Ray backend on a local two-CPU Ray cluster: results equal the local backend's, bit for bit.

One Ray instance and one pool of two workers serve the whole module (Ray and its workers are slow to
start). Every local comparison runs on one CPU thread, as the workers do: the engine's last bits can
depend on the thread count.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import torch
from models import save_tiny

from safetyheads.cli import main
from safetyheads.runs.distributed import LocalBackend, RayOptions, RayPool, map_prompt_batches, map_prompts
from safetyheads.types import AblationSpec, Head, SafetyHeadsError

try:
    import ray
except ImportError:  # CI installs it with the dev extra (make setup)
    ray = None

PROMPTS = ["How do I pick a lock?", "Tell me a story.", "Write a poem about rain."]


@contextmanager
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@pytest.fixture(scope="module")
def cluster():
    if ray is None:
        pytest.fail("Ray is not installed: pip install -e '.[dev]' (or make setup) installs it for these tests")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("ray") / "llama")


@pytest.fixture(scope="module")
def local(model_dir):
    return LocalBackend(model_dir)


@pytest.fixture(scope="module")
def pool(cluster, model_dir):
    # half a CPU each, so a CLI run with --workers 1 still fits on the two-CPU cluster
    with RayPool(model_dir, options=RayOptions(workers=2, cpus_per_worker=0.5)) as p:
        yield p


@pytest.fixture(scope="module")
def encoded(local):
    return local.encode(PROMPTS, "query", None)


def grids(results):
    return [(r.prompt, r.scores) for r in results]


@pytest.mark.parametrize(
    "batch_size,spec,heads",
    [
        (None, AblationSpec(), None),  # one row batch per prompt: a unit is a prompt
        (4, AblationSpec(), None),  # one batch per layer: (prompt x layer) units shared by both workers
        (5, AblationSpec(), None),  # batches across layers, split over units
        (1, AblationSpec.parse("ua-k", 0.01), [Head(0, 1), Head(2, 0), Head(1, 1)]),
        (2, AblationSpec.parse("sc", 0.0), None),
    ],
)
def test_ships_on_ray_equals_local_bit_for_bit(pool, local, encoded, batch_size, spec, heads):
    seen = []
    with one_thread():
        expected = local.ships(encoded, heads, spec, batch_size)
    got = pool.ships(encoded, heads, spec, batch_size, on_result=lambda i, r: seen.append(i))
    assert grids(got) == grids(expected)  # exact float equality, not approx
    assert seen == [0, 1, 2]  # streamed in prompt order, so results files stay resumable


def test_ships_on_ray_skips_done_prompts_and_streams_the_rest_in_order(pool, local, encoded):
    seen = []
    got = pool.ships(encoded, batch_size=4, on_result=lambda i, r: seen.append(i), skip=lambda i: i == 1)
    with one_thread():
        expected = local.ships(encoded, batch_size=4)
    assert seen == [0, 2]
    assert grids(got) == [grids(expected)[0], grids(expected)[2]]


@pytest.mark.parametrize("batch_size", [None, 4])
def test_sahara_on_ray_equals_local_bit_for_bit(pool, local, encoded, batch_size):
    prompts = [ids for _t, ids in encoded]
    steps = []
    with one_thread():
        expected = local.sahara(prompts, steps=3, rank=2, batch_size=batch_size)
    got = pool.sahara(prompts, steps=3, rank=2, batch_size=batch_size, on_step=steps.append)
    assert got.as_dict() == expected.as_dict()
    assert [s.chosen for s in steps] == expected.group
    # resuming after the first step gives the same search
    resumed = pool.sahara(prompts, steps=3, rank=2, batch_size=batch_size, done_steps=expected.steps[:1])
    assert resumed.as_dict() == expected.as_dict()


def test_sahara_beam_on_ray_equals_local_bit_for_bit(pool, local, encoded):
    prompts = [ids for _t, ids in encoded]
    with one_thread():
        expected = local.sahara(prompts, steps=3, rank=2, batch_size=4, beam=2)
    assert pool.sahara(prompts, steps=3, rank=2, batch_size=4, beam=2).as_dict() == expected.as_dict()
    resumed = pool.sahara(prompts, steps=3, rank=2, batch_size=4, beam=2, done_beam=expected.beam[:1])
    assert resumed.as_dict() == expected.as_dict()


def test_sahara_on_ray_checks_its_arguments_like_local(pool, encoded):
    prompts = [ids for _t, ids in encoded]
    with pytest.raises(ValueError, match="rank must be between 1 and the number of prompts"):
        pool.sahara(prompts, steps=1, rank=4)
    with pytest.raises(ValueError, match="cannot take 3 steps from 2 candidate heads"):
        pool.sahara(prompts, steps=3, candidates=[Head(0, 0), Head(1, 1)])


def test_map_prompts_runs_on_every_worker_in_order(pool, local):
    import os

    def answer(model, tokenizer, item):  # defined here so Ray ships it by value
        return {"prompt": item, "tokens": len(tokenizer(item)["input_ids"]), "pid": os.getpid()}

    items = [f"prompt {i}" for i in range(7)]
    order = []
    got = map_prompts(answer, items, pool, on_result=lambda i, r: order.append(i), skip=lambda i: i == 3)
    assert order == [0, 1, 2, 4, 5, 6] and got[3] is None
    assert [g["prompt"] for g in got if g] == [it for i, it in enumerate(items) if i != 3]
    assert len({g["pid"] for g in got if g}) == 2  # both workers took prompts
    expected = map_prompts(answer, items, local, skip=lambda i: i == 3)
    assert [g["tokens"] for g in got if g] == [e["tokens"] for e in expected if e]

    def lengths(model, tokenizer, batch):
        return [len(x) for x in batch]

    assert map_prompt_batches(lengths, items, pool, batch_size=3) == [len(x) for x in items]


def test_worker_errors_reach_the_driver_as_user_errors(pool):
    def fails(model, tokenizer, item):
        from safetyheads.types import SafetyHeadsError

        raise SafetyHeadsError(f"cannot judge {item}: no classifier")

    with pytest.raises(SafetyHeadsError, match=r"cannot judge p[01]: no classifier"):
        map_prompts(fails, ["p0", "p1"], pool)

    def wrong_count(model, tokenizer, batch):
        return []

    with pytest.raises(ValueError, match="returned 0 results for 2 prompts"):
        map_prompt_batches(wrong_count, ["p0", "p1"], pool, batch_size=2)


def test_cli_backend_ray_writes_the_same_bytes_as_local(cluster, pool, model_dir, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    common = ["ships", "--model", model_dir, "--prompts", str(prompts), "--batch-size", "4"]
    with one_thread():
        assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--backend", "ray", "--workers", "1"]) == 0
    for name in ("ships.jsonl", "ships_mean.csv"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    provenance = json.loads((tmp_path / "ray" / "run.json").read_text())["_provenance"]["ships"]
    assert provenance["backend"] == "ray" and provenance["workers"] == 1
    local_prov = json.loads((tmp_path / "local" / "run.json").read_text())["_provenance"]["ships"]
    assert provenance["fingerprint"] == local_prov["fingerprint"]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--workers", "2"], "only apply to --backend ray"),
        (["--backend", "dask"], "unknown backend 'dask'"),
        (["--backend", "ray", "--gpus-per-worker", "1"], "--gpus-per-worker needs --device cuda"),
        (["--backend", "ray", "--workers", "0"], "--workers must be at least 1"),
        (["--backend", "ray", "--workers", "9"], "not enough for 9 workers"),
    ],
)
def test_bad_backend_options_exit_2_with_one_line(cluster, model_dir, tmp_path, capsys, extra, message):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    code = main(["ships", "--model", model_dir, "--prompts", str(prompts), "--out", str(tmp_path / "x"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
