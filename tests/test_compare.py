"""``compare`` on hand-made runs whose overlap and rank correlation were worked out by hand."""

import json

import pytest

from safetyheads.cli import main
from safetyheads.scores.compare import chance_jaccard, csv_grid, mean_over_prompts, read_run, spearman
from safetyheads.scores.ships import mean_scores
from safetyheads.types import SafetyHeadsError, ShipsResult

# 2 layers x 3 heads, in the order 0-0, 0-1, 0-2, 1-0, 1-1, 1-2
A = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2]
B = [0.8, 0.6, 0.1, 0.2, 0.9, 0.3]


def write_run(path, values, extra_column=None):
    path.mkdir(parents=True)
    lines = ["layer,head,mean,std" + (",kl_mean,kl_std" if extra_column else "")]
    for i, v in enumerate(values):
        row = f"{i // 3},{i % 3},{v},0.01"
        if extra_column:
            row += f",{extra_column[i]},0"
        lines.append(row)
    (path / "ships_mean.csv").write_text("\n".join(lines) + "\n")
    return path


def test_jaccard_and_spearman_of_hand_made_runs(tmp_path, capsys):
    a, b = write_run(tmp_path / "base", A), write_run(tmp_path / "tuned", B)
    assert main(["compare", str(a), str(b)]) == 0
    out = a / "compare_tuned"
    result = json.loads((out / "compare.json").read_text())
    assert result["n_heads"] == 6
    by_k = {o["k"]: o for o in result["overlap"]}
    # top-1: 0-0 vs 1-1
    assert by_k[1]["jaccard"] == 0 and by_k[1]["top_a"] == ["0-0"] and by_k[1]["top_b"] == ["1-1"]
    # top-3: {0-0, 1-1, 0-2} vs {1-1, 0-0, 0-1}: 2 shared of 4
    assert by_k[3]["jaccard"] == pytest.approx(0.5) and by_k[3]["shared"] == ["0-0", "1-1"]
    # top-5: {0-0, 1-1, 0-2, 1-0, 1-2} vs {1-1, 0-0, 0-1, 1-2, 1-0}: 4 shared of 6
    assert by_k[5]["jaccard"] == pytest.approx(4 / 6)
    # top-10 of 6 heads: all of them
    assert by_k[10]["k_used"] == 6 and by_k[10]["jaccard"] == 1.0
    # ranks A = [6, 1, 4, 3, 5, 2], B = [5, 4, 1, 2, 6, 3]: sum d^2 = 22, rho = 1 - 6 * 22 / (6 * 35) = 13/35
    assert result["spearman"] == pytest.approx(13 / 35)
    # chance for k = 3 of 6: E[m / (6 - m)] over the hypergeometric overlap m = 0.365
    assert by_k[3]["jaccard_chance"] == pytest.approx(0.365)
    png = (out / "compare.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    printed = capsys.readouterr().out
    assert "Spearman 0.371" in printed
    assert "10: all 6" in printed  # the table says that k = 10 took the 6 heads the runs share


def test_spearman_with_ties_and_other_column(tmp_path):
    # x ranks [1, 2.5, 2.5, 4], y ranks [1, 3, 2, 4]: 4.5 / sqrt(4.5 * 5) = sqrt(0.9)
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(0.9**0.5)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert chance_jaccard(3, 6) == pytest.approx(0.365)
    a = write_run(tmp_path / "a", A, extra_column=B)
    b = write_run(tmp_path / "b", B)  # a plain kl run: its mean column is the harmful-set KL
    (b / "run.json").write_text(json.dumps({"ships": {"model": "m", "ablation": "ua-q"}}))
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--column", "kl_mean", "--k", "2", "--out", str(out)]) == 0
    result = json.loads((out / "compare.json").read_text())
    assert result["spearman"] == pytest.approx(1.0) and result["overlap"][0]["jaccard"] == 1.0


def test_ships_jsonl_is_read_when_the_csv_is_missing(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    grids = [[[1.0, 2.0]], [[3.0, 0.0]]]
    (run / "ships.jsonl").write_text("".join(json.dumps({"index": i, "scores": g}) + "\n" for i, g in enumerate(grids)))
    assert read_run(run).grid == [[2.0, 1.0]]
    # a torn last line is not read, even one that parses
    (run / "ships.jsonl").write_text((run / "ships.jsonl").read_text() + json.dumps({"index": 2, "scores": [[9, 9]]}))
    assert read_run(run).grid == [[2.0, 1.0]]


def test_the_mean_over_prompts_is_the_ships_command_s():
    grids = [[[1.0, None], [0.5, 2.0]], [[3.0, 4.0], [None, 1.0]], [[2.0, 1.0], [1.5, None]]]
    assert mean_over_prompts(grids) == mean_scores([ShipsResult("p", g) for g in grids])
    mean, std = mean_over_prompts(grids)
    assert mean == [[2.0, 2.5], [1.0, 1.5]] and std[0][1] == pytest.approx(1.5)
    # a file it did not write: short rows and grids are padded, NaN and non-numbers count as missing
    mean, std = mean_over_prompts([[[1.0]], [[3.0, float("nan")], ["x", True]], [[2.0, 5]]])
    assert mean == [[2.0, 5.0], [None, None]] and std[1] == [None, None]
    assert mean_over_prompts([]) == ([], [])


def test_csv_grid_reads_one_column(tmp_path):
    a = write_run(tmp_path / "a", A)
    assert csv_grid(a / "ships_mean.csv") == [A[:3], A[3:]]
    assert csv_grid(a / "ships_mean.csv", "std") == [[0.01] * 3, [0.01] * 3]
    (tmp_path / "bad.csv").write_text("layer,head,mean\n0,0,1\n0,x,2\n")
    with pytest.raises(SafetyHeadsError, match="line 3"):
        csv_grid(tmp_path / "bad.csv")
    (tmp_path / "nan.csv").write_text("layer,head,mean\n0,0,nan\n")
    with pytest.raises(SafetyHeadsError, match="holds no scores"):
        csv_grid(tmp_path / "nan.csv")


def test_mismatched_runs_are_clear_errors(tmp_path, capsys):
    a = write_run(tmp_path / "a", A)
    small = tmp_path / "small"
    small.mkdir()
    (small / "ships_mean.csv").write_text("layer,head,mean,std\n0,0,1,0\n0,1,2,0\n")
    assert main(["compare", str(a), str(small)]) == 2
    assert "same architecture" in capsys.readouterr().err
    assert main(["compare", str(a), str(a), "--column", "refusal_mean"]) == 2
    assert "no 'refusal_mean' column" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
