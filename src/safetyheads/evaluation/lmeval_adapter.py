"""Run any lm-eval-harness task on a model with heads ablated (optional extra: ``pip install safetyheads[lmeval]``).

``ablated_lm(model, tokenizer, heads, spec)`` wraps the model in lm-eval's ``HFLM``
so that every request (log-likelihood, rolling log-likelihood, generation) runs
inside ``ablated(model, heads, spec)``; ``run_lm_eval`` hands it to
``lm_eval.simple_evaluate``. lm-eval is imported only when these are called.

Example::

    from safetyheads.evaluation.lmeval_adapter import run_lm_eval
    results = run_lm_eval(model, tokenizer, ["hellaswag", "arc_easy"], heads=parse_heads("2-26"), limit=200)
    print(results["results"])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torch import nn

from safetyheads.core.ablation import ablated
from safetyheads.types import AblationSpec, Head, SafetyHeadsError

INSTALL_HINT = "pip install 'safetyheads[lmeval]' (or pip install lm-eval)"
_REQUESTS = ("loglikelihood", "loglikelihood_rolling", "generate_until")


def _hflm_class():
    try:
        from lm_eval.models.huggingface import HFLM
    except ImportError as err:
        raise SafetyHeadsError(f"lm-eval-harness is not installed ({err}); install it with: {INSTALL_HINT}") from None
    return HFLM


def ablated_lm(
    model: nn.Module,
    tokenizer,
    heads: Iterable[Head] = (),
    spec: AblationSpec | None = None,
    batch_size: int | str = 8,
    **hflm_kwargs: Any,
):
    """An lm-eval ``HFLM`` around ``model`` whose every request runs with ``heads`` ablated."""
    hflm = _hflm_class()
    heads = tuple(heads)
    spec = spec or AblationSpec()

    class AblatedHFLM(hflm):  # type: ignore[misc, valid-type]
        """HFLM with safetyheads ablation applied around every request type."""

    def wrap(name: str):
        original = getattr(hflm, name)

        def method(self, *args, **kwargs):
            with ablated(self._safetyheads_model, heads, spec):
                return original(self, *args, **kwargs)

        method.__name__ = name
        method.__doc__ = original.__doc__
        return method

    for name in _REQUESTS:
        if hasattr(hflm, name):
            setattr(AblatedHFLM, name, wrap(name))
    lm = AblatedHFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, **hflm_kwargs)
    lm._safetyheads_model = model
    lm.safetyheads_ablation = {"heads": [h.as_list() for h in heads], **spec.as_dict()}
    return lm


def run_lm_eval(
    model: nn.Module,
    tokenizer,
    tasks: Sequence[str],
    heads: Iterable[Head] = (),
    spec: AblationSpec | None = None,
    limit: int | float | None = None,
    num_fewshot: int | None = None,
    batch_size: int | str = 8,
    **evaluate_kwargs: Any,
) -> dict:
    """``lm_eval.simple_evaluate`` on ``tasks`` with ``heads`` ablated; returns lm-eval's results dict."""
    lm = ablated_lm(model, tokenizer, heads, spec, batch_size=batch_size)
    try:
        import lm_eval
    except ImportError as err:
        raise SafetyHeadsError(f"lm-eval-harness is not installed ({err}); install it with: {INSTALL_HINT}") from None
    return lm_eval.simple_evaluate(model=lm, tasks=list(tasks), limit=limit, num_fewshot=num_fewshot, **evaluate_kwargs)
