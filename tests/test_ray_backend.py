"""The Ray backend on a local two-CPU Ray cluster: results equal the local backend's, bit for bit.

One Ray instance and one pool of two workers serve the whole module (Ray and its workers are slow to
start). Every local comparison runs on one CPU thread, as the workers do: the engine's last bits can
depend on the thread count. The last tests need no Ray: the cutting of work into units, and the worker's units
against the library functions the local backend runs.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import torch
from models import save_tiny

from safetyheads.cli import main
from safetyheads.core.engine import Engine
from safetyheads.runs.backends import map_prompt_batches, map_prompts
from safetyheads.runs.local import LocalBackend
from safetyheads.runs.planning import deal, plan_batches, plan_units
from safetyheads.runs.ray_pool import RayOptions, RayPool
from safetyheads.runs.worker import ModelWorker
from safetyheads.scores.sahara import generalized_ships, top_left_singular
from safetyheads.scores.ships import ships_for_prompt
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


# ---------------------------------------------------------------------------------------------- without Ray


@pytest.mark.parametrize("rows", [1, 3, 4, 5, 7])
@pytest.mark.parametrize("units", [1, 2, 3, 5])
def test_an_engine_sweeps_a_unit_in_exactly_the_unit_batches(rows, units):
    # a worker runs a unit's heads with Engine.sweep (sorted, `rows` per batch): the batches must be the sweep's own
    candidates = [Head(layer, head) for layer in range(4) for head in range(4)][::-1][:13]
    dealt = deal(plan_batches(candidates, rows), units)
    joined = plan_units(candidates, rows, units)
    assert len(joined) == len(dealt) and sorted(h for unit in joined for h in unit) == sorted(candidates)
    for unit, batches in zip(joined, dealt, strict=True):
        assert plan_batches(unit, rows) == batches


def test_worker_units_are_the_local_ships_and_sahara(local, encoded):
    # ModelWorker in this process: its units, put together, give what sweep_ships and sahara's scoring give locally
    worker = ModelWorker(local.model_name)
    spec, rows = AblationSpec(), 3
    candidates = local.shape.all_heads(spec)
    with one_thread():
        for _text, ids in encoded:
            got = {}
            for unit in plan_units(candidates, rows, 2):
                got.update(worker.ships_unit(ids, unit, spec, rows))
            assert got == ships_for_prompt(Engine(local.model, spec, rows), ids, candidates)
        prompts = [ids for _t, ids in encoded]
        base = top_left_singular(worker.base_hidden(prompts, spec), 2)
        group = (Head(1, 0),)
        remaining = [h for h in candidates if h not in group]
        got = {}
        for unit in plan_units(remaining, rows, 3):
            got.update(worker.sahara_unit(prompts, group, unit, base, 2, spec, rows))
        assert got == generalized_ships(Engine(local.model, spec, rows), prompts, remaining, group, 2)


def test_local_map_prompt_batches_checks_the_count_and_keeps_order(local):
    def wrong_count(model, tokenizer, batch):
        return []

    with pytest.raises(ValueError, match="returned 0 results for 2 prompts"):
        map_prompt_batches(wrong_count, ["p0", "p1"], local, batch_size=2)
    order = []
    got = map_prompts(lambda m, t, x: x * 2, [1, 2, 3, 4], local, 3, lambda i, r: order.append(i), lambda i: i == 1)
    assert got == [2, None, 6, 8] and order == [0, 2, 3]
