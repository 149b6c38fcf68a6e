"""Find the refusal direction: difference of means on training prompts, the layer chosen on held-apart ones.

:func:`find_direction` takes the difference of means after every decoder layer (``safetyheads.core.direction``) on
``n_train`` harmful and ``n_train`` harmless prompts, then tries the candidates of ``layers`` (default: every
layer in the first 80% of the model, as Arditi et al. do) on prompts held apart from those:

- ``complied`` / ``refused`` / ``broken``: the judge's shares of greedy answers to ``n_val`` held-apart harmful
  prompts with the candidate ablated;
- ``harmless_kl``: the mean KL divergence of the next-token distribution at the last prompt position, unablated
  to ablated, on ``n_val`` held-apart harmless prompts (what the ablation costs where it should change nothing).

With ``answer_every_layer`` off, layers whose ``harmless_kl`` is over ``max_kl`` get no answers (their shares are
None): they cannot be chosen, and generating and judging answers is most of the search's cost.

The chosen layer has the highest ``complied`` share (ties: fewer broken answers, then lower KL) among layers with
``harmless_kl <= max_kl`` (None: no bound). Arditi et al. bound the KL at 0.1; on the project's 135M organism every
layer that makes more than one held-apart harmful answer comply moves the harmless next-token distribution by more
than that, so the default bound is 1.0 nats, and the cost on harmless text is measured beside the result
(``safetyheads helpfulness --direction``). Every layer's measurements are kept with the direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from safetyheads.core.ablation import without_direction
from safetyheads.core.direction import META, RefusalDirection, difference_of_means, unit
from safetyheads.core.engine import kl_divergence
from safetyheads.core.families import model_shape
from safetyheads.core.progress import Progress
from safetyheads.data.loading import load_shared
from safetyheads.data.prompts import Template, prepare
from safetyheads.evaluation.asr import outcome_shares
from safetyheads.evaluation.generation import DecodingSettings, generate
from safetyheads.evaluation.judges import DEFAULT_JUDGE, Case, Judge, build_judge, next_token_logprobs
from safetyheads.runs.eval_runs import judge_settings
from safetyheads.runs.provenance import model_provenance
from safetyheads.runs.rundir import RunDir, prompts_digest
from safetyheads.types import SafetyHeadsError

DEFAULT_MAX_KL = 1.0  # nats: see the module docstring
DEPTH_LIMIT = 0.8  # candidate layers by default: the first 80% of the model


@dataclass(frozen=True)
class DirectionSettings:
    """How many prompts train the direction and choose its layer, and how the layer is chosen."""

    n_train: int = 64
    n_val: int = 16
    max_kl: float | None = DEFAULT_MAX_KL
    max_new_tokens: int = 32
    layers: tuple[int, ...] | None = None  # None: every layer below DEPTH_LIMIT of the depth
    template: str = "chat"
    # False: no answers at layers whose harmless KL is over ``max_kl`` (they cannot be chosen; their KL is kept)
    answer_every_layer: bool = True

    def __post_init__(self) -> None:
        if not self.answer_every_layer and self.max_kl is None:
            raise SafetyHeadsError("answering only within the KL bound needs a bound (--max-kl)")

    def record(self) -> dict:
        """The settings as a run records them (``answer_every_layer`` only when off: runs made before it existed
        still resume)."""
        out = dict(self.__dict__)
        if out["answer_every_layer"]:
            del out["answer_every_layer"]
        return out

    def answers_at(self, harmless_kl: float) -> bool:
        """Whether a layer with this harmless KL is answered (always, unless its KL rules it out and
        ``answer_every_layer`` is off)."""
        return self.answer_every_layer or self.max_kl is None or harmless_kl <= self.max_kl

    def candidate_layers(self, n_layers: int) -> list[int]:
        if self.layers is None:
            return list(range(max(1, int(n_layers * DEPTH_LIMIT))))
        bad = [x for x in self.layers if not 0 <= x < n_layers]
        if bad:
            raise SafetyHeadsError(f"layers {bad} are outside 0..{n_layers - 1}")
        return sorted(set(self.layers))


def split_prompts(texts: Sequence[str], n_train: int, n_val: int, what: str) -> tuple[list[str], list[str]]:
    """The first ``n_train`` texts train, the next ``n_val`` choose the layer (disjoint; duplicates dropped)."""
    unique = list(dict.fromkeys(texts))
    if n_train < 1 or n_val < 1:
        raise SafetyHeadsError("the direction needs at least one training and one held-apart prompt of each kind")
    if len(unique) < n_train + n_val:
        raise SafetyHeadsError(
            f"{what}: {len(unique)} distinct prompts, but {n_train} to train and {n_val} held apart were asked for"
        )
    return unique[:n_train], unique[n_train : n_train + n_val]


def measure_layer(
    model: nn.Module,
    tokenizer,
    vector: torch.Tensor,
    harmful: Sequence[tuple[str, torch.Tensor]],
    harmless_ids: Sequence[torch.Tensor],
    harmless_base: torch.Tensor,
    judge: Judge,
    settings: DecodingSettings,
    answer: Callable[[float], bool] = lambda _kl: True,
) -> dict:
    """One candidate's KL on held-apart harmless prompts and, when ``answer(kl)``, its shares on held-apart harmful
    ones (else the shares are None)."""
    with without_direction(model, vector):
        kl = float(kl_divergence(harmless_base, next_token_logprobs(model, harmless_ids)).mean())
        if not answer(kl):
            return {"refused": None, "complied": None, "broken": None, "harmless_kl": kl, "examples": []}
        answers = generate(model, tokenizer, [ids for _, ids in harmful], settings=settings)
    verdicts = judge.judge([Case(p, a.text, ids) for (p, ids), a in zip(harmful, answers, strict=True)])
    shares = outcome_shares([v.outcome for v in verdicts])
    return {
        **{k: shares[k] for k in ("refused", "complied", "broken")},
        "harmless_kl": kl,
        "examples": [a.text for a in answers[:2]],
    }


def choose(rows: Sequence[dict], max_kl: float | None) -> dict:
    """The row with the highest complied share among those within ``max_kl`` (None: all; ties: less broken,
    lower KL)."""
    fit = [r for r in rows if max_kl is None or r["harmless_kl"] <= max_kl]
    if not fit:
        lowest = min(r["harmless_kl"] for r in rows)
        raise SafetyHeadsError(
            f"no candidate layer keeps the harmless KL within {max_kl} (the lowest is {lowest:.3f}); "
            "raise --max-kl or try other --layers"
        )
    return max(fit, key=lambda r: (r["complied"], -r["broken"], -r["harmless_kl"], -r["layer"]))


def find_direction(
    model: nn.Module,
    tokenizer,
    harmful: Sequence[str],
    harmless: Sequence[str],
    judge: Judge,
    settings: DirectionSettings | None = None,
    info: dict | None = None,
    done: Sequence[dict] = (),
    on_layer: Callable[[dict], None] | None = None,
    show_progress: bool = False,
) -> RefusalDirection:
    """Difference of means on the training prompts, the layer chosen on the held-apart ones (module docstring).

    ``done`` holds layers already measured (an interrupted search; they are not measured again) and
    ``on_layer`` is called with each layer's measurements as they finish.
    """
    settings = settings or DirectionSettings()
    n_layers = model_shape(model).n_layers
    layers = settings.candidate_layers(n_layers)
    harm_train, harm_val = split_prompts(harmful, settings.n_train, settings.n_val, "harmful prompts")
    safe_train, safe_val = split_prompts(harmless, settings.n_train, settings.n_val, "harmless prompts")
    template = Template(settings.template)
    encoded = {name: prepare(tokenizer, texts, template) for name, texts in
               (("ht", harm_train), ("hv", harm_val), ("st", safe_train), ("sv", safe_val))}  # fmt: skip
    decoding = DecodingSettings(max_new_tokens=settings.max_new_tokens)
    with Progress(enabled=show_progress) as progress:
        task = progress.task("difference of means", total=len(harm_train) + len(safe_train))
        candidates = difference_of_means(
            model,
            [ids for _, ids in encoded["ht"]],
            [ids for _, ids in encoded["st"]],
            advance=lambda n: progress.advance(task, n),
        )
        harmless_ids = [ids for _, ids in encoded["sv"]]
        harmless_base = next_token_logprobs(model, harmless_ids)
        rows = [r for r in done if r["layer"] in layers]
        task = progress.task("choosing the layer", total=len(layers))
        progress.advance(task, len(rows))
        for layer in [x for x in layers if x not in {r["layer"] for r in rows}]:
            row = measure_layer(
                model, tokenizer, unit(candidates[layer]), encoded["hv"], harmless_ids, harmless_base, judge, decoding,
                answer=settings.answers_at,
            )  # fmt: skip
            rows.append({"layer": layer, **row})
            if on_layer is not None:
                on_layer(rows[-1])
            progress.advance(task, 1)
    rows.sort(key=lambda r: r["layer"])
    best = choose(rows, settings.max_kl)
    meta = {
        **(info or {}),
        "n_harmful": len(harm_train),
        "n_harmless": len(safe_train),
        "n_val": settings.n_val,
        "max_kl": settings.max_kl,
        "max_new_tokens": settings.max_new_tokens,
        "template": settings.template,
        "judge": judge.name,
        "layers": rows,
    }
    return RefusalDirection(unit(candidates[best["layer"]]), best["layer"], candidates, meta)


def parse_layers(text: str) -> tuple[int, ...]:
    """``"3"``, ``"2,5,9"`` or ``"0-23"`` (inclusive ranges may be mixed with single layers)."""
    out: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise SafetyHeadsError(f"cannot read layers '{text}'; write e.g. 4, 2,5,9 or 0-23") from None
    if not out:
        raise SafetyHeadsError("no layers given")
    return tuple(sorted(set(out)))


def default_harmless(seed: int = 0) -> list[str]:
    """Built-in harmless requests of many forms, interleaved from three seeded shuffles: the project's hand-written
    requests, requests built in AdvBench's imperative forms on harmless tasks, and plain questions from the
    helpfulness sets (past the items helpfulness scores). A harmless set that shares the harmful set's forms makes
    the difference of means pick out harmfulness rather than form."""
    import random

    from safetyheads.data.datasets import harmless_questions
    from safetyheads.data.organism_data import HARMLESS_REQUESTS, form_matched_requests

    sources = [list(HARMLESS_REQUESTS), form_matched_requests(), harmless_questions(129, skip=200)]
    for i, texts in enumerate(sources):
        random.Random(seed + i).shuffle(texts)
    mixed = [texts[i] for i in range(max(map(len, sources))) for texts in sources if i < len(texts)]
    return list(dict.fromkeys(mixed))


LAYERS_FILE = "direction_layers.jsonl"


def direction_run(
    out: str | Path,
    *,
    model: str,
    harmful_texts: list[str],
    harmless_texts: list[str],
    source: dict,
    settings: DirectionSettings,
    judge: str = DEFAULT_JUDGE,
    options: dict | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    status=None,
) -> RefusalDirection:
    """``safetyheads direction``: the refusal direction of ``model``, its layer chosen on held-apart prompts; every
    layer's measurements go to ``out``/direction_layers.jsonl as they are made (a rerun resumes) and the direction
    to ``out``/direction.safetensors and direction.json. ``source`` names where the prompts came from."""
    options = dict(options or {})
    run = RunDir(out)
    run.check_settings(
        "direction",
        {
            "model": model,
            **source,
            "harmful_prompts": prompts_digest(harmful_texts),
            "harmless_prompts": prompts_digest(harmless_texts),
            **settings.record(),
            **judge_settings(judge, options),
        },
        results=[LAYERS_FILE],
    )
    with run.lock("direction"):
        lm, tokenizer = load_shared(model, device, dtype, status)
        run.record_provenance("direction", model_provenance(model, lm, device, dtype))
        if (Path(out) / META).is_file():  # finished (saved last): the saved direction, not a recomputation whose
            return RefusalDirection.load(out)  # float noise (another thread count) would change its digest
        judge_obj = build_judge(judge, options, model=lm, tokenizer=tokenizer, device=device, dtype=dtype)
        done, _ = run.repair_jsonl(LAYERS_FILE)
        found = find_direction(
            lm, tokenizer, harmful_texts, harmless_texts, judge_obj, settings, info={"model": model, **source},
            done=done, on_layer=lambda row: run.append_jsonl(LAYERS_FILE, row), show_progress=True,
        )  # fmt: skip
        found.save(out)
    return found
