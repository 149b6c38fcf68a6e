"""safetyheads: find, ablate and evaluate the attention heads that carry an LLM's safety behaviour."""

from safetyheads.ablation import AblationPlan, ablated, install
from safetyheads.engine import Engine
from safetyheads.families import model_shape
from safetyheads.heads import parse_heads
from safetyheads.sahara import generalized_ships, sahara
from safetyheads.ships import sweep_ships
from safetyheads.types import AblationKind, AblationSpec, Head, SafetyHeadsError

__all__ = [
    "AblationKind",
    "AblationPlan",
    "AblationSpec",
    "Engine",
    "Head",
    "SafetyHeadsError",
    "ablated",
    "generalized_ships",
    "install",
    "model_shape",
    "parse_heads",
    "sahara",
    "sweep_ships",
]
