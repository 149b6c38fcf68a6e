"""Resolving ``--model`` names to a (model, tokenizer) pair.

Accepted: a local Hugging Face directory, a ``.gguf`` file, or a hub id (for
users with hub access).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from safetyheads.types import SafetyHeadsError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return DTYPES[dtype]
    except KeyError:
        raise SafetyHeadsError(f"unknown dtype '{dtype}'; choose one of: {', '.join(DTYPES)}") from None


def load_model(name: str, device: str = "cpu", dtype: str | torch.dtype = "float32"):
    """Load a causal LM and its tokenizer, in eval mode on ``device``."""
    torch_dtype = resolve_dtype(dtype)
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.exists():
            raise SafetyHeadsError(f"model file not found: {path}")
        kwargs = {"gguf_file": path.name}
        source = str(path.parent)
    else:
        if (name.startswith((".", "/", "~")) or path.exists()) and not path.is_dir():
            raise SafetyHeadsError(f"model path not found: {path}")
        kwargs, source = {}, str(path) if path.is_dir() else name
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, **kwargs)
    return model.to(device).eval(), tokenizer
