"""The demo study as one library call, ``run_demo``: what ``safetyheads demo`` runs, resumable from its directory.

In one run directory it runs: per-query Ships over AdvBench attribution prompts; the paper's Sahara group and,
with a base model, the answer-aimed ``untune`` one (the contrastive, helpfulness-penalised one when asked for); the
refusal direction (the positive control: an intervention known to remove refusal); the shares of answers refused,
complied (attack success) and broken, by the default judge, on AdvBench evaluation prompts (disjoint from the
attribution ones) for no heads, each group, the direction and random groups of the same size (and each group under
``sc`` when asked for); ARC-Easy helpfulness (BoolQ too when asked for) with its baselines, and the KL from the
unablated model on harmless text, for each candidate; Ships on the base model and the head overlap with the tuned
model; and a summary with the verdict from intervals (``summary.json``, ``summary.md``). Each step is the library
call behind the command a user would run by hand (``runs.sweep_runs``, ``runs.eval_runs``,
``study.direction_search``), each in its own folder, so an interrupted demo resumes where it stopped. The HTML
report is the report layer's (``safetyheads.report``), written after this.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from safetyheads.core.direction import RefusalDirection
from safetyheads.core.heads import parse_heads
from safetyheads.data.datasets import load_prompt_dataset
from safetyheads.data.loading import shared_models
from safetyheads.data.prompts import first_n, read_prompts
from safetyheads.evaluation.generation import DecodingSettings
from safetyheads.runs.eval_runs import eval_run, helpfulness_run, task_list
from safetyheads.runs.sweep_runs import sahara_run, ships_run
from safetyheads.scores.compare import compare_run, read_run, top_k
from safetyheads.study.direction_search import DirectionSettings, default_harmless, direction_run
from safetyheads.study.organism import BASE_MODEL, ORGANISM, build, harmless_training_requests
from safetyheads.study.study import Row, random_groups, read_row, write_summary
from safetyheads.types import AblationSpec

HELPFULNESS_KINDS = ("base", "sahara", "objective", "control")
TEMPLATE = "chat"


@dataclass
class DemoSettings:
    """The demo's options (``safetyheads demo --help`` describes each)."""

    model: str | None = None  # default: the organism, built on first use
    prompts: int = 3  # attribution prompts for Ships and Sahara
    steps: int = 3  # Sahara steps (group size)
    eval_limit: int = 50
    help_limit: int = 100
    max_new_tokens: int = 32
    random_draws: int = 10
    direction_val: int = 8
    direction_max_kl: float = 1.0
    pool: int = 30  # Sahara searches the top N heads of its score's Ships ranking (0: all)
    base_model: str | None = None  # default: the organism's base
    # Helpfulness tasks. BoolQ is left out by default: the organism scores below its majority answer, so it cannot
    # show damage and the verdict never reads it (docs/organism-and-demo.md), and it is the costliest task.
    help_tasks: str = "arc_easy"
    # False: the direction's layer search answers only at layers within direction_max_kl (the rest cannot be chosen)
    direction_every_layer: bool = False
    # The contrastive (helpfulness-penalised) Sahara search and its group; off by default to keep a cached demo
    # within 15 minutes on a 2-core CPU (with it, Ships also scores the harmless prompts).
    contrastive: bool = False
    sc_variants: bool = False  # also evaluate the Sahara groups under sc (one more condition per group)

    def __post_init__(self) -> None:
        task_list(self.help_tasks)  # an unknown task fails here, not after the steps before helpfulness
        # more prompts than a split holds fail here too, not as a smaller sample after the searches
        first_n(load_prompt_dataset("advbench:attribution"), self.prompts, "advbench:attribution", "--prompts")
        first_n(load_prompt_dataset("advbench:evaluation"), self.eval_limit, "advbench:evaluation", "--eval-limit")

    @property
    def name(self) -> str:
        """The model the demo studies."""
        return self.model or ORGANISM

    @property
    def compared_with(self) -> str | None:
        """The model whose heads the tuned model's are compared with (None: no comparison)."""
        return self.base_model or (BASE_MODEL if self.name == ORGANISM else None)

    @property
    def n_stages(self) -> int:
        """The demo's steps, the report included: one more with the contrastive search, three more with a model to
        compare with."""
        return 6 + int(self.contrastive) + (3 if self.compared_with else 0)


@dataclass
class Demo:
    """A finished demo: its rows (one per condition), summary, groups and timings."""

    name: str
    rows: list[Row]
    summary: dict
    groups: dict[str, list[str]]
    times: dict[str, float] = field(default_factory=dict)


def run_demo(
    out: str | Path,
    settings: DemoSettings | None = None,
    stage: Callable[[str, Callable[[], object]], None] | None = None,
    say: Callable[[str], None] = lambda _m: None,
    status=None,
    compare_figure=None,
) -> Demo:
    """Run (or resume) the demo study into ``out``. ``stage(title, work)`` runs each step (the CLI prints a banner
    and the time around it); by default the steps just run. ``compare_figure`` draws the base-vs-tuned heatmaps
    (``compare_run``'s ``figure``; the CLI passes ``report.plots.side_by_side_png``)."""
    s = settings or DemoSettings()
    out = Path(out)
    started = time.perf_counter()
    times: dict[str, float] = {}

    def step(title: str, work: Callable[[], object]) -> None:
        t0 = time.perf_counter()
        (stage or (lambda _t, w: w()))(title, work)
        times[title] = time.perf_counter() - t0

    name = s.name
    if name == ORGANISM:
        t0 = time.perf_counter()
        build(log=say)
        times["organism"] = time.perf_counter() - t0
    compare_with = s.compared_with
    out.mkdir(parents=True, exist_ok=True)
    attribution_half = [item.text for item in load_prompt_dataset("advbench:attribution")]
    attribution = attribution_half[: s.prompts]
    common = dict(model=name, texts=attribution, template=TEMPLATE, say=say, status=status)
    if s.contrastive:  # its search ranks heads by Ships on harmful minus harmless prompts
        step(
            "per-query Ships, harmful and harmless prompts",
            lambda: ships_run(out / "ships", **common, score="contrastive"),
        )
    else:
        step("per-query Ships", lambda: ships_run(out / "ships", **common))

    def candidates(column: str) -> str | None:
        if s.pool <= 0:
            return None
        return ",".join(str(h) for h in top_k(read_run(out / "ships", column).values(), s.pool))

    def sahara(folder: str, column: str, **objective) -> Callable[[], object]:
        return lambda: sahara_run(out / folder, **common, steps=s.steps, heads=candidates(column), **objective)

    step("Sahara (paper)", sahara("sahara", "kl_mean"))
    if s.contrastive:
        step("Sahara (contrastive)", sahara("sahara_contrastive", "mean", objective="contrastive"))
    if compare_with:  # the answer-aimed search: heads whose ablation brings the tuned model back to the untuned one
        step("Sahara (untune)", sahara("sahara_untune", "kl_mean", score="untune", base_model=compare_with))
    if name == ORGANISM:  # the harmless requests it was trained to answer (docs/organism-and-demo.md says why)
        harmless_file = out / "direction_harmless.txt"
        harmless_file.write_text("\n".join(harmless_training_requests()) + "\n")
        harmless, harmless_source = read_prompts(harmless_file), str(harmless_file)
    else:
        harmless, harmless_source = default_harmless(), "builtin"
    direction_settings = DirectionSettings(
        n_val=s.direction_val, max_kl=s.direction_max_kl, max_new_tokens=s.max_new_tokens, template=TEMPLATE,
        answer_every_layer=s.direction_every_layer,
    )  # fmt: skip
    step(
        "refusal direction (positive control)",
        lambda: direction_run(
            out / "direction",
            model=name,
            harmful_texts=attribution_half,
            harmless_texts=harmless,
            source={"harmful": "advbench:attribution", "harmless": harmless_source},
            settings=direction_settings,
            status=status,
        ),  # fmt: skip
    )
    groups = {"sahara": _group_of(out / "sahara")}
    if s.contrastive:
        groups["contrastive"] = _group_of(out / "sahara_contrastive")
    if compare_with:
        groups["untune"] = _group_of(out / "sahara_untune")
    every_head = sorted(read_run(out / "ships").values())  # every head the sweep scored (a hybrid model: its own)
    found = parse_heads([h for g in groups.values() for h in g])
    for d, group in enumerate(random_groups(every_head, s.steps, s.random_draws, seed=0, exclude=found), 1):
        groups[f"random{d}"] = [str(h) for h in group]

    # (run-folder suffix, kind, heads, ablation)
    conditions: list[tuple[str, str, list[str], str]] = [("base", "base", [], "ua-q")]
    searched = [g for g in ("sahara", "contrastive") if g in groups]
    conditions += [(g, "sahara", groups[g], "ua-q") for g in searched]
    conditions += [("untune", "objective", groups["untune"], "ua-q")] if "untune" in groups else []
    conditions += [(f"{g}_sc", "variant", groups[g], "sc") for g in searched if s.sc_variants]
    conditions += [("direction", "control", [], "direction")]
    conditions += [(g, "random", heads, "ua-q") for g, heads in groups.items() if g.startswith("random")]
    items = load_prompt_dataset("advbench:evaluation")[: s.eval_limit]
    decoding = DecodingSettings(max_new_tokens=s.max_new_tokens)

    def intervention(heads: list[str], kind: str) -> dict:
        if kind == "direction":
            return {"direction": RefusalDirection.load(out / "direction")}
        return {"heads": ",".join(heads), "spec": AblationSpec.parse(kind)} if heads else {}

    def evals() -> None:
        for suffix, _, heads, kind in conditions:
            eval_run(out / f"eval_{suffix}", model=name, items=items, template=TEMPLATE, decoding=decoding,
                     say=say, status=status, **intervention(heads, kind))  # fmt: skip

    # helpfulness and harmless damage for the unablated model and the candidates (not the sc variants, not the
    # random groups: the verdict compares candidates' helpfulness with the unablated model's)
    measured = [c for c in conditions if c[1] in HELPFULNESS_KINDS]

    def helpfulness() -> None:
        for suffix, _, heads, kind in measured:
            ablates = kind == "direction" or bool(heads)
            helpfulness_run(out / f"helpfulness_{suffix}", model=name, tasks=s.help_tasks, limit=s.help_limit,
                            with_base=not ablates, status=status, **intervention(heads, kind))  # fmt: skip

    with shared_models():  # one model copy for the many eval and helpfulness runs
        step(f"ASR for {len(conditions)} conditions", evals)
        step(f"helpfulness and harmless damage for {len(measured)} conditions", helpfulness)
    overlap = None
    if compare_with:
        step("Ships on the base model", lambda: ships_run(out / "ships_base", **{**common, "model": compare_with}))
        step("head overlap, base vs tuned", lambda: compare_run(out / "ships_base", out / "ships", out / "compare",
                                                                  column="kl_mean", figure=compare_figure))  # fmt: skip
        overlap = json.loads((out / "compare" / "compare.json").read_text())
    rows = [read_row(c, kind, out / f"eval_{c}", out / f"helpfulness_{c}") for c, kind, _, _ in conditions]
    times["total"] = time.perf_counter() - started
    summary = write_summary(
        out, rows, {"model": name, "groups": groups, "overlap": overlap, "times_s": times, "base_model": compare_with}
    )
    return Demo(name, rows, summary, groups, times)


def _group_of(folder: Path) -> list[str]:
    saved = json.loads((folder / "sahara.json").read_text())
    return [f"{layer}-{head}" for layer, head in saved["group"]]
