"""Resume guards: the weights fingerprint covers every value, and the compute settings that change results are
checked."""

import json

import pytest
import torch
from models import save_tiny, tiny_model

from safetyheads.cli import main
from safetyheads.core.surgery import bake
from safetyheads.runs.provenance import model_provenance
from safetyheads.runs.rundir import RunDir, model_fingerprint, sample_fingerprint
from safetyheads.types import AblationSpec, Head, SafetyHeadsError


def test_head_surgery_on_a_middle_head_changes_the_fingerprint():
    model = tiny_model("llama")
    before, before_sample = model_fingerprint(model), sample_fingerprint(model)
    bake(model, [Head(1, 1)], AblationSpec())  # scales q_proj rows in the middle of the tensor
    assert model_fingerprint(model) != before
    assert sample_fingerprint(model) == before_sample  # what the sampled fingerprint missed


def test_one_value_anywhere_and_two_swapped_values_change_it():
    model = tiny_model("gpt2")
    base = model_fingerprint(model)
    assert model_fingerprint(tiny_model("gpt2")) == base  # same weights, same fingerprint
    w = model.transformer.h[1].mlp.c_fc.weight
    with torch.no_grad():
        mid = w.numel() // 2
        old = w.view(-1)[mid].item()
        w.view(-1)[mid] = torch.nextafter(torch.tensor(old), torch.tensor(float("inf")))  # one ulp
    assert model_fingerprint(model) != base
    with torch.no_grad():
        w.view(-1)[mid] = old
        assert model_fingerprint(model) == base
        a, b = w.view(-1)[10].item(), w.view(-1)[11].item()
        w.view(-1)[10], w.view(-1)[11] = b, a
    assert model_fingerprint(model) != base
    assert model_fingerprint(tiny_model("gpt2").to(torch.bfloat16)) != base


def _provenance(model, device="cpu", dtype="float32"):
    return model_provenance("tiny", model, device, dtype)


def test_resume_refuses_other_weights_batch_size_dtype_and_threads(tmp_path):
    model = tiny_model("llama")
    run = RunDir(tmp_path / "run")
    run.record_provenance("ships", _provenance(model), batch_size=8)
    run.record_provenance("ships", _provenance(model), batch_size=8)  # the same: accepted
    with pytest.raises(SafetyHeadsError, match="batch_size: 8 -> 'auto'"):
        run.record_provenance("ships", _provenance(model), batch_size=None)
    with pytest.raises(SafetyHeadsError, match="requested_dtype"):
        run.record_provenance("ships", _provenance(model, dtype="bfloat16"), batch_size=8)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        with pytest.raises(SafetyHeadsError, match=f"threads: {threads} -> {threads + 1}"):
            run.record_provenance("ships", _provenance(model), batch_size=8)
    finally:
        torch.set_num_threads(threads)
    bake(model, [Head(2, 3)], AblationSpec())
    with pytest.raises(SafetyHeadsError, match="other model weights"):
        run.record_provenance("ships", _provenance(model), batch_size=8)


def test_runs_recorded_with_the_sampled_fingerprint_still_resume(tmp_path):
    model = tiny_model("llama")
    run = RunDir(tmp_path / "old")
    info = _provenance(model)
    old_style = {k: v for k, v in info.items() if k not in ("fingerprint_kind", "sample_fingerprint")}
    old_style["fingerprint"] = sample_fingerprint(model)
    (tmp_path / "old" / "run.json").write_text(json.dumps({"_provenance": {"ships": old_style}}))
    run.record_provenance("ships", info)  # same weights: accepted
    recorded = json.loads((tmp_path / "old" / "run.json").read_text())["_provenance"]["ships"]
    assert recorded["fingerprint"] == model_fingerprint(model) and recorded["fingerprint_kind"] == "every-value"


def test_cli_resume_with_another_batch_size_is_refused(tmp_path, capsys):
    tiny = save_tiny("llama", tmp_path / "llama")
    prompts = tmp_path / "p.txt"
    prompts.write_text("Tell me a story.\n")
    args = ["ships", "--model", tiny, "--prompts", str(prompts), "--out", str(tmp_path / "run")]
    assert main([*args, "--batch-size", "4"]) == 0
    assert main([*args, "--batch-size", "4"]) == 0
    assert main([*args, "--batch-size", "2"]) == 2
    assert "batch_size: 4 -> 2" in capsys.readouterr().err
