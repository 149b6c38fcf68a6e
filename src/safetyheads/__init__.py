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
    "AblationPlan": "safetyheads.core.ablation",
    "ablated": "safetyheads.core.ablation",
    "install": "safetyheads.core.ablation",
    "uninstall": "safetyheads.core.ablation",
    "screen_prompt": "safetyheads.scores.screen",
    "screen_ships": "safetyheads.scores.screen",
    "Engine": "safetyheads.core.engine",
    "model_shape": "safetyheads.core.families",
    "parse_heads": "safetyheads.core.heads",
    "generalized_ships": "safetyheads.scores.sahara",
    "sahara": "safetyheads.scores.sahara",
    "sweep_ships": "safetyheads.scores.ships",
    "load_model": "safetyheads.data.loading",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'safetyheads' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
