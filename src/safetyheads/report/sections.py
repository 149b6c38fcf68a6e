"""The page's sections but the ASR one (``report.asr_section``): Ships, Sahara, helpfulness, settings, contents.

Each section is a function of a ``Context``: what was read, where figures go and what the page has found missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from safetyheads.report.html import esc, img, missing_section, num, points, slug, table
from safetyheads.report.plots import heatmap_png
from safetyheads.report.read import HelpfulnessPart, RunContents, SaharaPart, ShipsPart, label
from safetyheads.report.stats import cell, difference, ranked_heads
from safetyheads.runs.rundir import PROVENANCE_KEY

MAX_SAHARA_HEATMAPS = 6


@dataclass
class Context:
    contents: RunContents
    figures_dir: Path
    top: int
    figures: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # parts not in the run, named in the report and on the console

    def figure(self, draw: Callable[[Path], bytes], name: str) -> tuple[bytes, Path]:
        """Draw a figure into ``figures_dir/name``; its PNG bytes (for the page) and its path."""
        path = self.figures_dir / name
        data = draw(path)
        self.figures.append(path)
        return data, path


@dataclass(frozen=True)
class Heading:
    """A section's id and title, and what the page says when the run does not have it."""

    section_id: str
    title: str
    name: str  # in the list of missing parts
    how_to: str  # HTML: what is missing and which command makes it


def section(ctx: Context, heading: Heading, parts: Sequence[Any], body: Callable[[], str]) -> str:
    """The section: ``body()`` when the run has ``parts``; else the note that it is missing."""
    if not parts:
        ctx.missing.append(heading.name)
        return missing_section(heading.section_id, heading.title, heading.how_to)
    return f'<section id="{heading.section_id}"><h2>{heading.title}</h2>{body()}</section>'


SHIPS = Heading(
    "ships",
    "Ships: mean per layer × head",
    "Ships",
    "Not in this run: no <code>ships.jsonl</code> or <code>ships_mean.csv</code> in the run directory or its "
    "subdirectories (<code>safetyheads ships --out DIR</code> writes them).",
)
SAHARA = Heading(
    "sahara",
    "Sahara: greedy head-group search",
    "Sahara",
    "Not in this run: no <code>sahara.json</code> in the run directory or its subdirectories "
    "(<code>safetyheads sahara --out DIR</code> writes it).",
)
HELPFULNESS = Heading(
    "helpfulness",
    "Helpfulness: zero-shot accuracy",
    "Helpfulness",
    "Not in this run: no <code>helpfulness.json</code> in the run directory or its subdirectories "
    "(<code>safetyheads helpfulness --out DIR</code>).",
)
PROVENANCE = Heading(
    "provenance",
    "Ablation settings and model provenance",
    "Run settings (run.json)",
    "No <code>run.json</code> found: the settings and the model's provenance are unknown.",
)


def each(parts: Sequence[Any], render: Callable[[int, Any], str]) -> str:
    """``render(k, part)`` of every part, joined (k counts from 0: see ``suffix``)."""
    return "".join(render(k, part) for k, part in enumerate(parts))


def suffix(k: int) -> str:
    """The id suffix of the k-th (from 0) part of a kind: "" for the first, "-2" for the second ..."""
    return "" if k == 0 else f"-{k + 1}"


# ---------------------------------------------------------------------------------------------- Ships


def _score_words(settings: dict[str, Any]) -> tuple[str, str, str]:
    """(name, unit, meaning in HTML) of the score a ships run wrote (``ships --score``)."""
    score = settings.get("score", "kl")
    if score == "refusal":
        return (
            "refusal score",
            "refusal log-odds change",
            "The refusal score is the drop in refusal log-odds at the first answer position (positive: refuses less)",
        )
    if score == "contrastive":
        lam = settings.get("lambda", "λ")
        return (
            "contrastive score",
            f"harmful KL - {lam} x harmless KL (nats)",
            f"The contrastive score is Ships on the harmful prompts minus {esc(str(lam))} × Ships on the harmless ones",
        )
    return "Ships", "KL (nats)", "Ships is KL(p<sub>base</sub> ‖ p<sub>ablated</sub>) of the next-token distribution"


def ablation_words(kind: Any, epsilon: Any) -> str:
    """An ablation in words, e.g. "ua-q, ε=1e-05" ("–" when there is none)."""
    if kind in (None, ""):
        return "–"
    return f"{kind}, ε={epsilon:g}" if isinstance(epsilon, int | float) else str(kind)


def settings_ablation(settings: dict[str, Any]) -> str:
    """The ablation of a command's recorded settings (``ablation`` and ``epsilon``)."""
    return ablation_words(settings.get("ablation"), settings.get("epsilon"))


def progress_badge(done: int | None, expected: Any, what: str) -> str:
    if done is None or not isinstance(expected, int):
        return ""
    if done >= expected:
        return f'<span class="badge b-ok">complete: {done} {what}</span>'
    return f'<span class="badge b-part">partial: {done} of {expected} {what}</span>'


def ships(ctx: Context) -> str:
    return section(ctx, SHIPS, ctx.contents.ships, lambda: each(ctx.contents.ships, partial(_ships_part, ctx)))


def _ships_part(ctx: Context, k: int, part: ShipsPart) -> str:
    settings = part.settings
    kind = settings.get("ablation", "?")
    status = progress_badge(part.n_prompts, part.expected, "prompts")
    name, unit, meaning = _score_words(settings)
    fig_title = f"Mean {name} ({kind}) over {part.n_prompts if part.n_prompts is not None else '?'} prompts"
    ranked = ranked_heads(part.mean, part.std)
    highlight = [(h[0], h[1]) for h in ranked[:5]]
    data, path = ctx.figure(
        lambda p: heatmap_png(part.mean, fig_title, p, colorbar_label=unit, highlight=highlight),
        f"{slug(part.label)}-ships-mean.png",
    )
    rows = [
        [str(i), f"<b>{layer}-{head}</b>", str(layer), str(head), num(m), num(s, 3)]
        for i, (layer, head, m, s) in enumerate(ranked[: ctx.top], 1)
    ]
    headers = ["rank", "head", "layer", "head #", f"mean {name}", "std"]
    return (
        f"<h3>{esc(part.label)} {status}</h3>"
        f'<p class="note">From <code>{esc(part.folder / part.source)}</code>; ablation '
        f"{esc(settings_ablation(settings))}, template {esc(settings.get('template', '–'))}. "
        f"{meaning}; the five highest heads are framed in red.</p>"
        f"<figure>{img(data, f'heatmap of mean {name} per layer and head', 'ships-heatmap' + suffix(k))}"
        f"<figcaption>Saved as <code>{esc(path.name)}</code> in <code>{esc(path.parent)}</code>."
        "</figcaption></figure>"
        f"<h3>Top {min(ctx.top, len(rows))} heads</h3>" + table("top-heads" + suffix(k), headers, rows, {0, 2, 3, 4, 5})
    )


# ---------------------------------------------------------------------------------------------- Sahara


def _beam_note(beam: Any) -> str:
    """A sentence for a beam search (``sahara --beam K``, K > 1); nothing for the greedy one."""
    if not isinstance(beam, int) or isinstance(beam, bool) or beam <= 1:
        return ""
    return (
        f" Beam search (<code>--beam {beam}</code>): {beam} groups are kept after each step, and these are the steps "
        "that built the best group of the last beam; <code>sahara.json</code> holds every beam."
    )


def sahara(ctx: Context) -> str:
    return section(ctx, SAHARA, ctx.contents.sahara, lambda: each(ctx.contents.sahara, partial(_sahara_part, ctx)))


def _sahara_part(ctx: Context, k: int, part: SaharaPart) -> str:
    n = len(part.steps)
    if part.complete:
        badge = f'<span class="badge b-ok">complete: {n} steps</span>'
    else:
        of = f" of {part.expected_steps}" if isinstance(part.expected_steps, int) else ""
        badge = f'<span class="badge b-part">partial: {n}{of} steps</span>'
    s = part.settings
    out = [f"<h3>{esc(part.label)} {badge}</h3>"]
    out.append(
        f'<p class="note">From <code>{esc(part.folder / "sahara.json")}</code>; ablation '
        f"{esc(settings_ablation(s))}, rank {esc(s.get('rank', '–'))}, {esc(s.get('n_prompts', '?'))} "
        "prompts. Each step adds the head whose ablation, on top of the group so far, turns the "
        "prompts' final-state subspace furthest (generalized Ships: sum of principal angles)."
        f"{_beam_note(s.get('beam'))}</p>"
    )
    rows, group = [], []
    for i, step in enumerate(part.steps, 1):
        layer, head = step["chosen"][:2]
        group.append(f"{layer}-{head}")
        rows.append(
            [str(i), f"<b>{layer}-{head}</b>", num(cell(step.get("scores"), layer, head)), esc(", ".join(group))]
        )
    out.append(table("sahara-steps" + suffix(k), ["step", "chosen head", "gen. Ships (deg)", "group"], rows, {0, 2}))
    figs = []
    for i, step in enumerate(part.steps[:MAX_SAHARA_HEATMAPS], 1):
        if not isinstance(step.get("scores"), list):
            continue
        chosen = tuple(step["chosen"][:2])
        data, path = ctx.figure(
            lambda p, step=step, i=i, chosen=chosen: heatmap_png(
                step["scores"], f"Sahara step {i}: generalized Ships", p, colorbar_label="degrees",
                highlight=[chosen], cmap="magma",
            ),
            f"{slug(part.label)}-sahara-step{i}.png",
        )  # fmt: skip
        figs.append(
            f"<figure>{img(data, f'Sahara step {i} heatmap', f'sahara-heatmap{suffix(k)}-{i}')}"
            f"<figcaption>Step {i} (chosen head framed); <code>{esc(path.name)}</code></figcaption></figure>"
        )
    out.append(f'<div class="figs">{"".join(figs)}</div>')
    return "".join(out)


# ---------------------------------------------------------------------------------------------- helpfulness


def helpfulness(ctx: Context) -> str:
    return section(
        ctx, HELPFULNESS, ctx.contents.helpfulness, lambda: each(ctx.contents.helpfulness, _helpfulness_part)
    )


def _helpfulness_part(k: int, part: HelpfulnessPart) -> str:
    heads = ", ".join(part.heads) if part.heads else None
    what = f"with {heads} ablated" if heads else ("ablated" if part.base else "")
    has_base = bool(part.base)
    headers = ["task", "n", "accuracy", "acc_norm"] + (["base accuracy", "base acc_norm", "Δ accuracy"]
                                                        if has_base else [])  # fmt: skip
    rows = []
    for task, r in part.tasks.items():
        row = [esc(task), esc(r.get("n", "–")), num(r.get("accuracy"), 3), num(r.get("accuracy_norm"), 3)]
        if has_base:
            b = part.base.get(task) or {}
            delta = points(difference(r.get("accuracy"), b.get("accuracy")))
            row += [num(b.get("accuracy"), 3), num(b.get("accuracy_norm"), 3), delta]
        rows.append(row)
    return f"<h3>{esc(part.label)} {esc(what)}</h3>" + table(
        "helpfulness-table" + suffix(k), headers, rows, set(range(1, len(headers)))
    )


# ---------------------------------------------------------------------------------------------- settings


def _provenance_rows(prov: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    source = prov.get("source") or {}
    if isinstance(source, dict):
        kind = source.get("kind", "?")
        where = source.get("path") or source.get("id") or ""
        text = f"{kind}: {where}" if where else str(kind)
        meta = source.get("meta")
        if isinstance(meta, dict) and meta:
            text += " (" + ", ".join(f"{k}={v}" for k, v in meta.items() if v is not None) + ")"
        if source.get("revision"):
            text += f" @ {source['revision']}"
        rows.append(("model source", esc(text)))
    for key, name in (("architecture", "architecture"), ("fingerprint", "weights fingerprint"),
                      ("dtype", "dtype"), ("device", "device"), ("backend", "backend"), ("workers", "Ray workers"),
                      ("gpus_per_worker", "GPUs per worker"), ("host", "host")):  # fmt: skip
        if prov.get(key) is not None:
            rows.append((name, f"<code>{esc(prov[key])}</code>"))
    shape = prov.get("shape")
    if isinstance(shape, dict):
        rows.append(("shape", esc(", ".join(f"{k}={v}" for k, v in shape.items()))))
    if isinstance(prov.get("device_map"), dict):
        rows.append(("device map", esc(", ".join(f"{k}: {v} modules" for k, v in prov["device_map"].items()))))
    versions = prov.get("versions")
    if isinstance(versions, dict):
        rows.append(("versions", esc(", ".join(f"{k} {v}" for k, v in versions.items() if v))))
    if prov.get("created"):
        started = f"{prov['created']}; last start {prov.get('updated', '?')} ({prov.get('starts', 1)} start(s))"
        rows.append(("run started", esc(started)))
    return rows


def provenance(ctx: Context) -> str:
    return section(ctx, PROVENANCE, list(ctx.contents.settings), lambda: _settings_tables(ctx.contents))


def _settings_tables(c: RunContents) -> str:
    out = []
    for folder, recorded in sorted(c.settings.items()):
        prov_all = recorded.get(PROVENANCE_KEY) if isinstance(recorded.get(PROVENANCE_KEY), dict) else {}
        for command, settings in recorded.items():
            if command == PROVENANCE_KEY or not isinstance(settings, dict):
                continue
            out.append(f"<h3><code>{esc(command)}</code> in {esc(label(c.root, folder))}</h3>")
            rows = [[esc(k), f"<code>{esc(json.dumps(v) if not isinstance(v, str) else v)}</code>"]
                    for k, v in settings.items()]  # fmt: skip
            prov = prov_all.get(command) if isinstance(prov_all, dict) else None
            if isinstance(prov, dict):
                rows += [[esc(k), v] for k, v in _provenance_rows(prov)]
            out.append(table(f"settings-{slug(f'{label(c.root, folder)}-{command}')}", ["setting", "value"], rows))
    return "".join(out)


# ---------------------------------------------------------------------------------------------- contents


def contents(ctx: Context) -> str:
    c = ctx.contents

    def where(parts) -> str:
        return ", ".join(sorted({esc(p.label) for p in parts}))

    items = [
        ("Ships heatmap and top heads", c.ships, "#ships"),
        ("Sahara steps", c.sahara, "#sahara"),
        ("ASR before / after ablation", c.evals, "#asr"),
        ("Helpfulness", c.helpfulness, "#helpfulness"),
    ]
    rows = []
    for name, parts, anchor in items:
        status = (
            f'<span class="badge b-ok">found</span> in {where(parts)}'
            if parts
            else '<span class="badge b-part">missing</span> not in this run'
        )
        rows.append([f'<a href="{anchor}">{esc(name)}</a>', status])
    settings_status = (
        f'<span class="badge b-ok">found</span> in {len(c.settings)} folder(s)'
        if c.settings
        else '<span class="badge b-part">missing</span> no run.json'
    )
    rows.append(['<a href="#provenance">Settings and provenance</a>', settings_status])
    problems = ""
    if c.problems:
        problems = '<p class="missing">Unreadable files (skipped): ' + "; ".join(esc(p) for p in c.problems) + "</p>"
    listing = table("contents-table", ["part", "status"], rows)
    return f'<section id="contents"><h2>Contents</h2>{listing}{problems}</section>'
