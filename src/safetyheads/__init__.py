"""safetyheads: find, ablate and evaluate the attention heads that carry an LLM's safety behaviour.

The public names below are imported lazily, so ``import safetyheads`` (and the CLI's start-up) does not pay
for transformers until a name that needs it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AblationKind": "safetyheads.types",
    "AblationSpec": "safetyheads.types",
    "Head": "safetyheads.types",
    "SafetyHeadsError": "safetyheads.types",
    "AblationPlan": "safetyheads.ablation",
    "ablated": "safetyheads.ablation",
    "install": "safetyheads.ablation",
    "uninstall": "safetyheads.ablation",
    "screen_prompt": "safetyheads.screen",
    "screen_ships": "safetyheads.screen",
    "Engine": "safetyheads.engine",
    "model_shape": "safetyheads.families",
    "parse_heads": "safetyheads.heads",
    "generalized_ships": "safetyheads.sahara",
    "sahara": "safetyheads.sahara",
    "sweep_ships": "safetyheads.ships",
    "load_model": "safetyheads.loading",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'safetyheads' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
