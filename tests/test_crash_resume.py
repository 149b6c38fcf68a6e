"""Crash-safe resumes: kill -9 a real sweep, corrupt its results, change its settings, and resume.

Every comparison is byte for byte with an uninterrupted run in another directory. All runs use one CPU
thread: the engine's last bits can depend on the thread count (the subprocess gets OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from models import save_tiny

from safetyheads.cli import main
from safetyheads.runs.rundir import RunDir
from safetyheads.types import SafetyHeadsError

N_SHIPS = 60  # prompts in the killed sweep: about 25 ms each on one thread, so the kill lands mid-way
N_SAHARA = 32  # prompts of the killed Sahara search: a step takes about half a second
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@contextmanager
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def run_cli(args: list[str]) -> int:
    with one_thread():
        return main(args)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("crash") / "llama")


def prompts_file(folder: Path, n: int, name: str = "prompts.txt") -> Path:
    path = folder / name
    path.write_text("".join(f"Prompt {i}: how would someone do thing number {i}?\n" for i in range(n)))
    return path


def ships_args(model_dir: str, prompts: Path, out: Path, *extra: str) -> list[str]:
    return ["ships", "--model", model_dir, "--prompts", str(prompts), "--out", str(out), *extra]


def spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "safetyheads.cli", *args],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_when(proc: subprocess.Popen, ready, timeout: float = 180.0) -> None:
    """Poll until ``ready()`` and then ``kill -9`` the process (fail if it exits or times out first)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"the sweep exited (code {proc.returncode}) before it could be killed:\n{err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the sweep wrote nothing in time")
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def complete_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


# ---------------------------------------------------------------------------------------------- Ships


@pytest.fixture(scope="module")
def ships_reference(model_dir, tmp_path_factory):
    """An uninterrupted run over N_SHIPS prompts: (prompts file, ships.jsonl bytes, ships_mean.csv bytes)."""
    folder = tmp_path_factory.mktemp("ships-ref")
    prompts = prompts_file(folder, N_SHIPS)
    out = folder / "run"
    assert run_cli(ships_args(model_dir, prompts, out)) == 0
    return prompts, (out / "ships.jsonl").read_bytes(), (out / "ships_mean.csv").read_bytes()


def test_kill_9_mid_sweep_then_resume_ends_byte_identical(model_dir, ships_reference, tmp_path, capsys):
    prompts, reference, reference_mean = ships_reference
    out = tmp_path / "run"
    results = out / "ships.jsonl"
    proc = spawn(ships_args(model_dir, prompts, out))
    kill_when(proc, lambda: complete_lines(results) >= 1)
    done_at_kill = complete_lines(results)
    assert 1 <= done_at_kill < N_SHIPS, "the kill should land in the middle of the sweep"
    assert reference.startswith(results.read_bytes()[: results.read_bytes().rfind(b"\n") + 1])
    assert not (out / "ships_mean.csv").exists()

    assert run_cli(ships_args(model_dir, prompts, out)) == 0
    assert "resuming" in capsys.readouterr().err
    assert results.read_bytes() == reference
    assert (out / "ships_mean.csv").read_bytes() == reference_mean
    provenance = json.loads((out / "run.json").read_text())["_provenance"]["ships"]
    assert provenance["starts"] == 2 and provenance["backend"] == "local"


def _torn_tail(lines: list[bytes]) -> bytes:
    return b"".join(lines[:3]) + lines[3][: len(lines[3]) // 2]


def _nul_tail(lines: list[bytes]) -> bytes:
    return b"".join(lines[:2]) + b"\0" * 300  # what a power cut can leave: the size grew, the data did not


def _other_prompt(lines: list[bytes]) -> bytes:
    bad = json.loads(lines[1])
    bad["prompt"] = "not the second prompt"
    return lines[0] + (json.dumps(bad) + "\n").encode() + b"".join(lines[2:])


def _missing_score(lines: list[bytes]) -> bytes:
    bad = json.loads(lines[2])
    bad["scores"][1][2] = None
    return b"".join(lines[:2]) + (json.dumps(bad) + "\n").encode() + b"".join(lines[3:])


def _wrong_shape(lines: list[bytes]) -> bytes:
    bad = json.loads(lines[1])
    bad["scores"] = bad["scores"][:2]
    return lines[0] + (json.dumps(bad) + "\n").encode() + b"".join(lines[2:])


def _flipped_byte(lines: list[bytes]) -> bytes:
    line = bytearray(lines[2])
    line[len(line) // 2] = ord("}")
    return b"".join(lines[:2]) + bytes(line) + b"".join(lines[3:])


def _not_an_object(lines: list[bytes]) -> bytes:
    return lines[0] + b"[1, 2, 3]\n" + b"".join(lines[1:])


def _duplicate(lines: list[bytes]) -> bytes:
    return b"".join(lines[:3]) + lines[2] + b"".join(lines[3:])


@pytest.mark.parametrize(
    "corrupt",
    [_torn_tail, _nul_tail, _other_prompt, _missing_score, _wrong_shape, _flipped_byte, _not_an_object, _duplicate],
)
def test_corrupt_or_torn_lines_are_cut_and_redone(model_dir, tmp_path, capsys, corrupt):
    prompts = prompts_file(tmp_path, 5)
    ref, out = tmp_path / "ref", tmp_path / "run"
    assert run_cli(ships_args(model_dir, prompts, ref)) == 0
    reference = (ref / "ships.jsonl").read_bytes()
    out.mkdir()
    (out / "run.json").write_bytes((ref / "run.json").read_bytes())
    (out / "ships.jsonl").write_bytes(corrupt(reference.splitlines(keepends=True)))
    capsys.readouterr()
    assert run_cli(ships_args(model_dir, prompts, out)) == 0
    assert "torn or corrupt" in capsys.readouterr().err
    assert (out / "ships.jsonl").read_bytes() == reference


@pytest.mark.parametrize(
    "change,expected",
    [
        (["--ablation", "sc"], "ablation: 'ua-q' -> 'sc'"),
        (["--epsilon", "0.5"], "epsilon: 1e-05 -> 0.5"),
        (["--template", "raw"], "template: 'query' -> 'raw'"),
        (["--limit", "3"], "n_prompts: 5 -> 3"),
        (["--heads", "0-1"], "heads: None -> '0-1'"),
        (["OTHER_PROMPTS"], "prompts:"),
        (["OTHER_MODEL"], "model:"),
    ],
)
def test_resume_with_other_settings_is_refused(model_dir, tmp_path, capsys, change, expected):
    prompts = prompts_file(tmp_path, 5)
    out = tmp_path / "run"
    assert run_cli(ships_args(model_dir, prompts, out)) == 0
    before = (out / "ships.jsonl").read_bytes()
    args = ships_args(model_dir, prompts, out)
    if change == ["OTHER_PROMPTS"]:
        other = tmp_path / "other.txt"
        other.write_text(prompts.read_text().replace("number 3", "number three"))
        args[args.index("--prompts") + 1] = str(other)
    elif change == ["OTHER_MODEL"]:
        args[args.index("--model") + 1] = save_tiny("llama", tmp_path / "other-model", seed=1)
    else:
        args += change
    capsys.readouterr()
    assert run_cli(args) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and expected in err and "Traceback" not in err
    assert (out / "ships.jsonl").read_bytes() == before


def test_same_model_path_with_other_weights_is_refused(tmp_path, capsys):
    model = tmp_path / "model"
    save_tiny("llama", model, seed=0)
    prompts = prompts_file(tmp_path, 3)
    out = tmp_path / "run"
    assert run_cli(ships_args(str(model), prompts, out)) == 0
    before = (out / "ships.jsonl").read_bytes()
    save_tiny("llama", model, seed=5)  # the same --model path now holds another checkpoint
    capsys.readouterr()
    assert run_cli(ships_args(str(model), prompts, out)) == 2
    assert "other model weights" in capsys.readouterr().err
    assert (out / "ships.jsonl").read_bytes() == before


def test_a_second_writer_is_refused_while_the_first_holds_the_run(model_dir, tmp_path, capsys):
    prompts = prompts_file(tmp_path, 3)
    out = tmp_path / "run"
    with RunDir(out).lock("ships"):
        assert run_cli(ships_args(model_dir, prompts, out)) == 2
    assert "another process" in capsys.readouterr().err
    assert run_cli(ships_args(model_dir, prompts, out)) == 0  # released: a kill -9 would release it too


def test_corrupt_run_json_is_a_clear_error(model_dir, tmp_path, capsys):
    prompts = prompts_file(tmp_path, 3)
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text('{"ships": {"model": ')
    assert run_cli(ships_args(model_dir, prompts, out)) == 2
    err = capsys.readouterr().err
    assert "run.json is corrupt" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------- Sahara


def sahara_args(model_dir: str, prompts: Path, out: Path) -> list[str]:
    return ["sahara", "--model", model_dir, "--prompts", str(prompts), "--steps", "3", "--rank", "2", "--out", str(out)]


@pytest.fixture(scope="module")
def sahara_reference(model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sahara-ref")
    prompts = prompts_file(folder, N_SAHARA)
    out = folder / "run"
    assert run_cli(sahara_args(model_dir, prompts, out)) == 0
    return prompts, (out / "sahara.json").read_bytes()


def test_sahara_kill_9_between_steps_then_resume_ends_byte_identical(model_dir, sahara_reference, tmp_path, capsys):
    prompts, reference = sahara_reference
    out = tmp_path / "run"
    file = out / "sahara.json"
    proc = spawn(sahara_args(model_dir, prompts, out))
    kill_when(proc, file.exists)
    saved = json.loads(file.read_text())
    assert saved["complete"] is False and 1 <= len(saved["steps"]) < 3
    capsys.readouterr()
    assert run_cli(sahara_args(model_dir, prompts, out)) == 0
    assert f"resuming: {len(saved['steps'])} of 3 Sahara steps" in capsys.readouterr().err
    assert file.read_bytes() == reference


def _sahara_garbage(text: str) -> str:
    return text[: len(text) // 2]


def _sahara_bad_second_step(text: str) -> str:
    saved = json.loads(text)
    saved["steps"][1]["chosen"] = saved["steps"][0]["chosen"]  # a head chosen twice cannot be right
    saved["steps"] = saved["steps"][:2]
    saved["complete"] = False
    return json.dumps(saved)


@pytest.mark.parametrize("corrupt", [_sahara_garbage, _sahara_bad_second_step])
def test_corrupt_sahara_json_is_redone(model_dir, tmp_path, capsys, corrupt):
    prompts = prompts_file(tmp_path, 6)
    ref, out = tmp_path / "ref", tmp_path / "run"
    assert run_cli(sahara_args(model_dir, prompts, ref)) == 0
    reference = (ref / "sahara.json").read_text()
    out.mkdir()
    (out / "run.json").write_bytes((ref / "run.json").read_bytes())
    (out / "sahara.json").write_text(corrupt(reference))
    capsys.readouterr()
    assert run_cli(sahara_args(model_dir, prompts, out)) == 0
    assert "corrupt" in capsys.readouterr().err
    assert (out / "sahara.json").read_text() == reference


def test_a_refused_resume_names_long_settings_instead_of_printing_them(tmp_path):
    """A judge's fitted parameters are thousands of numbers: the error names what changed inside them."""
    run = RunDir(tmp_path)
    params = {"threshold": 0.45, "weights": [0.01] * 2000}
    run.check_settings("eval", {"judge": "topical", "params": params, "n": 20})
    changed = {"threshold": 0.35, "weights": [0.02] * 2000}
    with pytest.raises(SafetyHeadsError, match="other settings") as caught:
        run.check_settings("eval", {"judge": "topical", "params": changed, "n": 50})
    message = str(caught.value)
    assert "params: threshold: 0.45 -> 0.35, weights changed" in message and "n: 20 -> 50" in message
    assert len(message) < 300
