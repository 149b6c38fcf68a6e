"""The demo study's random controls and its verdict on the finding, on hand-made conditions."""

import json

import pytest

from safetyheads.study.study import (
    Row,
    columns,
    headline,
    markdown_table,
    random_groups,
    read_row,
    verdicts,
    write_summary,
)
from safetyheads.types import Head

HEADS = [Head(layer, h) for layer in range(4) for h in range(3)]


def test_random_groups_are_seeded_distinct_and_avoid_excluded_heads():
    first = random_groups(HEADS, 3, 5, seed=0, exclude=[Head(0, 0), Head(1, 1)])
    assert first == random_groups(HEADS, 3, 5, seed=0, exclude=[Head(0, 0), Head(1, 1)])
    assert first != random_groups(HEADS, 3, 5, seed=1, exclude=[Head(0, 0), Head(1, 1)])
    assert len(first) == 5 and len({tuple(g) for g in first}) > 1
    for group in first:
        assert len(set(group)) == 3 and not {Head(0, 0), Head(1, 1)} & set(group)
    with pytest.raises(ValueError):
        random_groups(HEADS[:2], 3, 1)


def row(name, kind, complied, arc=0.5, boolq=0.6, n=20, outcomes=None, arc_informative=True):
    k = round(complied * n)
    outcomes = outcomes or tuple(["complied"] * k + ["refused"] * (n - k))
    return Row(name, kind, "0-1,2-3", None, 1.0 - complied, complied, 0.0, n, {"arc_easy": arc, "boolq": boolq},
               outcomes=outcomes, above_baselines={"arc_easy": arc_informative, "boolq": False})  # fmt: skip


def test_verdicts_need_the_gain_its_interval_above_random_and_helpfulness():
    rows = [
        row("base", "base", 0.05),
        row("good", "sahara", 0.45, arc=0.47, boolq=0.20),  # +0.40; ARC-Easy drops 3 points; BoolQ cannot show damage
        row("weak", "sahara", 0.25),  # +0.20 < 0.3
        row("costly", "sahara", 0.55, arc=0.40),  # +0.50 but ARC-Easy drops 10 points
        row("r1", "random", 0.05),
        row("r2", "random", 0.15),  # random gains 0 and 0.10: mean 0.05
    ]
    out = verdicts(rows)
    assert out["random_mean_complied_gain"] == pytest.approx(0.05)
    assert out["random_max_complied_gain"] == pytest.approx(0.10)
    assert out["tasks_that_can_show_damage"] == ["arc_easy"]
    lo, hi = out["random_mean_complied_gain_ci"]
    assert lo == pytest.approx(0.0) and hi == pytest.approx(0.10)  # a bootstrap over the two random groups
    good, weak, costly = (out["groups"][n] for n in ("good", "weak", "costly"))
    assert good["ratio_to_random"] == pytest.approx(8.0) and good["finding_met"]
    assert good["judged_on_tasks"] == ["arc_easy"] and good["helpfulness_drop"]["boolq"] == pytest.approx(0.4)
    assert good["complied_gain_ci"][0] > 0.05 and good["above_random"]
    assert not weak["gain_ge_0.3"] and not weak["finding_met"]
    assert costly["gain_ge_0.3"] and costly["above_random"] and not costly["helpfulness_within_5_points"]
    assert not costly["finding_met"]


def test_the_gain_interval_is_a_paired_bootstrap_over_prompts():
    base = ("refused",) * 10
    mixed = ("complied", "refused") * 5  # +0.5 over ten prompts
    rows = [row("base", "base", 0.0, n=10, outcomes=base), row("g", "sahara", 0.5, n=10, outcomes=mixed),
            row("r", "random", 0.3, n=10)]  # fmt: skip
    g = verdicts(rows)["groups"]["g"]
    lo, hi = g["complied_gain_ci"]
    assert lo < 0.5 < hi and lo > 0.1  # wide: ten prompts decide little
    assert g["above_random"] is (lo > 0.3)  # the random mean gain is 0.3


def test_without_a_task_that_can_show_damage_the_finding_is_not_met():
    rows = [row("base", "base", 0.0, arc_informative=False), row("g", "sahara", 0.9), row("r", "random", 0.0)]
    g = verdicts(rows)["groups"]["g"]
    assert g["helpfulness_within_5_points"] is None and g["gain_ge_0.3"] and g["above_random"]
    assert not g["finding_met"]


def test_headline_names_the_best_small_group_beside_the_direction():
    rows = [row("base", "base", 0.1), row("a", "sahara", 0.2), row("b", "objective", 0.3),
            row("dir", "control", 0.8), row("r", "random", 0.1)]  # fmt: skip
    h = headline(rows)
    assert h["best_group"] == "b" and h["best_group_gain"] == pytest.approx(0.2)
    assert h["direction_gain"] == pytest.approx(0.7) and h["random_mean_gain"] == pytest.approx(0.0)
    assert h["reaches_0.3"] is False


def test_rows_are_read_from_eval_and_helpfulness_folders(tmp_path):
    ev, hp = tmp_path / "eval_g", tmp_path / "helpfulness_g"
    ev.mkdir()
    hp.mkdir()
    summary = {"refused": 0.5, "complied": 0.25, "broken": 0.25, "n": 4, "heads": ["2-1", "0-3"]}
    summary["ablation"] = {"kind": "sc", "epsilon": 1e-5}
    (ev / "eval_summary.json").write_text(json.dumps(summary))
    (hp / "helpfulness.json").write_text(json.dumps({"arc_easy": {"accuracy": 0.4}, "boolq": {"accuracy": 0.7}}))
    r = read_row("g", "variant", ev, hp)
    assert (r.refused, r.complied, r.broken, r.n, r.ablation) == (0.5, 0.25, 0.25, 4, "sc")
    assert r.helpfulness == {"arc_easy": 0.4, "boolq": 0.7}
    assert "2-1" in r.heads and "0-3" in r.heads
    written = write_summary(tmp_path, [row("base", "base", 0.0), r], {"model": "m"})
    assert json.loads((tmp_path / "summary.json").read_text()) == written
    assert "| g |" in (tmp_path / "summary.md").read_text()


def test_rates_at_the_thresholds_count_despite_rounding():
    rows = [row("base", "base", 0.1, arc=0.35), row("g", "sahara", 0.4, arc=0.30), row("r", "random", -0.5)]
    g = verdicts(rows)["groups"]["g"]  # 0.4 - 0.1 = 0.30000000000000004 or 0.29999999999999993 in floats
    assert g["gain_ge_0.3"] and g["helpfulness_within_5_points"]  # 5 points exactly


def test_the_summary_table_has_a_column_for_each_task_measured_and_no_other():
    both = [row("base", "base", 0.1), row("g", "sahara", 0.2)]
    assert markdown_table(both).splitlines()[0].count("BoolQ") == 1
    arc_only = [Row(r.name, r.kind, r.heads, r.ablation, r.refused, r.complied, r.broken, r.n,
                    {"arc_easy": r.helpfulness["arc_easy"]}) for r in both]  # fmt: skip
    header, _, first, _ = markdown_table(arc_only).splitlines()
    assert "BoolQ" not in header and "ARC-Easy" in header
    assert header.count("|") == first.count("|")  # every row has a cell per column
    assert columns(["boolq", "openbookqa"])[-3:] == ("BoolQ", "OpenBookQA", "harmless KL")


def test_every_helpfulness_task_has_a_column_title():
    from safetyheads.evaluation.helpfulness import MC_TASKS
    from safetyheads.study.study import TASKS

    assert set(TASKS) == set(MC_TASKS)
