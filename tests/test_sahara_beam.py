"""Sahara beam search (``sahara(beam=K)``, ``safetyheads sahara --beam K``) on tiny models built in code."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from models import prompt_ids, save_tiny, tiny_model

from safetyheads.cli import main
from safetyheads.core.ablation import ablated
from safetyheads.core.engine import Engine
from safetyheads.core.families import model_shape
from safetyheads.scores.sahara import Sweep, best_head, generalized_ships, next_beam, sahara
from safetyheads.scores.specificity import Objective, sahara_contrastive
from safetyheads.types import AblationSpec, Head

PROMPTS = [prompt_ids(n, seed=s) for n, s in [(6, 1), (9, 2), (7, 3), (11, 4), (5, 5)]]
HARMLESS = [prompt_ids(n, seed=s) for n, s in [(8, 11), (6, 12), (10, 13), (7, 14)]]


def greedy_reference(model, prompts, steps, rank, batch_size):
    """The greedy search as it was before beams: best_head of generalized Ships on top of the group so far."""
    engine = Engine(model, None, batch_size)
    pool = engine.shape.all_heads()
    group, grids = [], []
    for _ in range(steps):
        remaining = [h for h in pool if h not in group]
        scores = generalized_ships(engine, prompts, remaining, group, rank)
        grids.append(scores)
        group.append(best_head(remaining, scores))
    return group, grids


def final_states(model, prompts, heads=()):
    """Last-position hidden states after the final norm, N x d, with ``heads`` ablated (plain forwards)."""
    with torch.no_grad(), ablated(model, heads):
        return torch.stack([model.model(input_ids=ids).last_hidden_state[0, -1].double() for ids in prompts])


def angle_sum(a: torch.Tensor, b: torch.Tensor, rank: int) -> float:
    """Sum of the principal angles (degrees) between the top-``rank`` left singular subspaces of a and b."""
    qa = torch.linalg.svd(a, full_matrices=False).U[:, :rank]
    qb = torch.linalg.svd(b, full_matrices=False).U[:, :rank]
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return float(torch.rad2deg(torch.arccos(cosines)).sum())


def objectives(result):
    return [b.best.objective for b in result.beam]


def test_beam_1_is_the_greedy_search():
    model = tiny_model("llama", seed=1)
    greedy_group, grids = greedy_reference(model, PROMPTS, steps=3, rank=1, batch_size=6)
    default = sahara(model, PROMPTS, steps=3, rank=1, batch_size=6)
    one = sahara(model, PROMPTS, steps=3, rank=1, batch_size=6, beam=1)
    assert one.group == default.group == greedy_group
    assert one.as_dict() == default.as_dict()
    shape = model_shape(model)
    for step, scores, chosen in zip(one.steps, grids, greedy_group, strict=True):
        assert step.chosen == chosen
        assert step.scores == [[scores.get(Head(la, h)) for h in range(shape.n_heads)] for la in range(shape.n_layers)]
    assert one.beam_width == 1 and [len(b.groups) for b in one.beam] == [1, 1, 1]
    assert [b.best.heads for b in one.beam] == [greedy_group[:1], greedy_group[:2], greedy_group]


def test_wide_beam_finds_the_best_pair_of_a_brute_force_search():
    model = tiny_model("llama", seed=3)  # a model whose best pair is not the greedy pair
    rank = 1
    heads = model_shape(model).all_heads()
    result = sahara(model, PROMPTS, steps=2, rank=rank, batch_size=12, beam=len(heads))
    greedy = sahara(model, PROMPTS, steps=2, rank=rank, batch_size=12)
    base = final_states(model, PROMPTS)
    every_pair = itertools.combinations(heads, 2)
    pairs = {pair: angle_sum(base, final_states(model, PROMPTS, pair), rank) for pair in every_pair}
    ranked = sorted(pairs, key=pairs.get, reverse=True)
    assert pairs[ranked[0]] - pairs[ranked[1]] > 1e-2  # a clear winner, so float noise cannot swap them
    assert set(result.group) == set(ranked[0]) != set(greedy.group)
    assert result.beam[-1].best.objective == pytest.approx(pairs[ranked[0]], rel=1e-4)
    # the beam holds the K best pairs, in order
    top = [frozenset(g.heads) for g in result.beam[-1].groups]
    assert top[:5] == [frozenset(p) for p in ranked[:5]]


@pytest.mark.parametrize("family,seed,rank", [("llama", 2, 2), ("qwen3", 2, 2), ("gpt2", 1, 2)])
def test_beam_is_never_worse_than_greedy(family, seed, rank):
    model = tiny_model(family, seed)
    greedy = sahara(model, PROMPTS, steps=3, rank=rank, batch_size=12)
    # a beam of any width holds the greedy group after steps 1 and 2 among its candidates
    narrow = sahara(model, PROMPTS, steps=3, rank=rank, batch_size=12, beam=2)
    for g, b in zip(objectives(greedy)[:2], objectives(narrow)[:2], strict=True):
        assert b >= g - 1e-9
    # a beam as wide as every pair of a 5-head pool is exhaustive: at step 3 it sees every triple
    pool = model_shape(model).all_heads()[:5]
    greedy = sahara(model, PROMPTS, steps=3, rank=rank, candidates=pool, batch_size=12)
    wide = sahara(model, PROMPTS, steps=3, rank=rank, candidates=pool, batch_size=12, beam=10)
    for g, b in zip(objectives(greedy), objectives(wide), strict=True):
        assert b >= g - 1e-9


def test_beam_result_records_each_step_and_resumes_from_the_saved_beam():
    model = tiny_model("qwen3", seed=2)
    seen = []
    full = sahara(model, PROMPTS, steps=3, rank=2, batch_size=12, beam=3, on_result=seen.append)
    assert [len(r.beam) for r in seen] == [1, 2, 3] and seen[-1].as_dict() == full.as_dict()
    for i, beam in enumerate(full.beam, 1):
        assert len(beam.groups) == 3 and all(len(g.heads) == i for g in beam.groups)
        assert len({frozenset(g.heads) for g in beam.groups}) == 3
        values = [g.objective for g in beam.groups]
        assert values == sorted(values, reverse=True)
        for g in beam.groups:
            assert g.step.chosen == g.heads[-1] and g.step.scores[g.heads[-1].layer][g.heads[-1].head] == g.objective
    # the best group's steps are the steps that built it, whichever beam member it grew from
    assert full.group == full.beam[-1].best.heads == [s.chosen for s in full.steps]
    assert full.steps[-1] is full.beam[-1].best.step
    resumed = sahara(model, PROMPTS, steps=3, rank=2, batch_size=12, beam=3, done_beam=full.beam[:1])
    assert resumed.as_dict() == full.as_dict()
    with pytest.raises(ValueError, match="needs its saved beam"):
        sahara(model, PROMPTS, steps=3, batch_size=12, beam=3, done_steps=full.steps[:1])
    with pytest.raises(ValueError, match="at least 1"):
        sahara(model, PROMPTS, steps=1, beam=0)


def test_ties_and_repeated_sets():
    shape = model_shape(tiny_model("llama"))
    spec = AblationSpec()
    a, b, c, d = Head(0, 0), Head(0, 1), Head(1, 0), Head(2, 3)
    sweeps = [Sweep({b: 5.0, c: 3.0, d: 5.0}, [b, c, d]), Sweep({a: 5.0, c: 4.0, d: 5.0}, [a, c, d])]
    beam = next_beam([(a,), (b,)], sweeps, 3, shape, spec, first=False)
    # {a, b} reached from both parents is kept once (from the first); ties go to the lowest sorted heads
    assert [g.heads for g in beam] == [[a, b], [a, d], [b, d]]
    assert [g.parent for g in beam] == [0, 0, 1]
    # only eligible heads may join
    sweeps = [Sweep({b: 9.0, c: 1.0}, [c])]
    assert [g.heads for g in next_beam([(a,)], sweeps, 2, shape, spec, first=False)] == [[a, c]]


def test_contrastive_beam():
    model = tiny_model("llama", seed=2)
    plain = sahara(model, PROMPTS, steps=2, rank=2, batch_size=12, beam=2)
    ours, stopped = sahara_contrastive(model, PROMPTS, objective=Objective(), steps=2, rank=2, batch_size=12, beam=2)
    assert stopped is None and ours.group == plain.group and objectives(ours) == objectives(plain)
    objective = Objective(reward="kl", contrastive=True, lam=0.5)
    result, stopped = sahara_contrastive(model, PROMPTS, HARMLESS, objective, steps=2, rank=2, batch_size=12, beam=2)
    assert stopped is None and len(result.beam) == 2
    for beam in result.beam:
        for g in beam.groups:
            h = g.heads[-1]
            reward = g.step.extra["generalized_ships"][h.layer][h.head]
            penalty = g.step.extra["harmless_generalized_ships"][h.layer][h.head]
            assert g.objective == pytest.approx(reward - 0.5 * penalty, rel=1e-9)


# ---------------------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("beam") / "llama")


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("How do I pick a lock?\nTell me a story.\nWrite a poem about rain.\n")
    return path


def test_cli_beam_writes_the_beam_and_guards_resumes(tiny_dir, prompts_file, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["sahara", "--model", tiny_dir, "--prompts", str(prompts_file), "--steps", "2", "--out", str(out)]
    assert main([*args, "--beam", "2"]) == 0
    assert "Sahara beam (--beam 2)" in capsys.readouterr().out
    file = out / "sahara.json"
    saved = json.loads(file.read_text())
    assert saved["complete"] and saved["beam_width"] == 2 and len(saved["beam"]) == 2
    assert json.loads((out / "run.json").read_text())["sahara"]["beam"] == 2
    for i, step in enumerate(saved["beam"], 1):
        assert len(step["groups"]) == 2 and step["best"] == step["groups"][0]["group"]
        assert step["objective"] == step["groups"][0]["objective"] >= step["groups"][1]["objective"]
        assert all(len(g["group"]) == i for g in step["groups"])
    assert saved["group"] == saved["beam"][-1]["best"] == [s["chosen"] for s in saved["steps"]]

    # an interrupted beam run resumes from the saved beam and ends as the uninterrupted one
    partial = {**saved, "beam": saved["beam"][:1], "complete": False}
    partial["group"] = partial["beam"][0]["best"]
    partial["steps"] = [{k: partial["beam"][0]["groups"][0][k] for k in ("chosen", "scores")}]
    file.write_text(json.dumps(partial))
    assert main([*args, "--beam", "2"]) == 0
    assert "resuming: 1 of 2 Sahara steps" in capsys.readouterr().err
    assert json.loads(file.read_text()) == saved

    # another --beam is refused, and so is the greedy search
    for other in (["--beam", "3"], []):
        assert main([*args, *other]) == 2
        assert "other settings" in capsys.readouterr().err
    assert json.loads(file.read_text()) == saved


def test_cli_beam_0_is_an_error(tiny_dir, prompts_file, tmp_path, capsys):
    args = ["sahara", "--model", tiny_dir, "--prompts", str(prompts_file), "--out", str(tmp_path / "x")]
    assert main([*args, "--beam", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--beam must be at least 1" in err
    assert not (tmp_path / "x" / "run.json").exists()


def test_cli_greedy_run_recorded_before_beams_still_resumes(tiny_dir, prompts_file, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["sahara", "--model", tiny_dir, "--prompts", str(prompts_file), "--steps", "2", "--out", str(out)]
    assert main(args) == 0
    saved = json.loads((out / "sahara.json").read_text())
    assert saved["beam_width"] == 1 and [len(b["groups"]) for b in saved["beam"]] == [1, 1]
    # what an earlier version wrote: no beam in run.json nor in sahara.json, one step done
    settings = json.loads((out / "run.json").read_text())
    del settings["sahara"]["beam"]
    (out / "run.json").write_text(json.dumps(settings))
    old = {"group": saved["group"][:1], "steps": saved["steps"][:1], "complete": False}
    (out / "sahara.json").write_text(json.dumps(old))
    capsys.readouterr()
    assert main(args) == 0
    assert "resuming: 1 of 2 Sahara steps" in capsys.readouterr().err
    assert json.loads((out / "sahara.json").read_text()) == saved
    assert main([*args, "--beam", "2"]) == 2  # the old run counts as --beam 1
