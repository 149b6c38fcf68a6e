"""The ASR section: shares before and after ablation, per category, and example answers.

Every share and interval shown is the run's summary as ``safetyheads eval`` wrote it to ``eval_summary.json`` (and
printed it), or for a run without one yet ``asr.summarize`` of its records (``report.read``): nothing is recomputed.
"""

from __future__ import annotations

from typing import Any

from safetyheads.report.html import esc, img, pct, points, share, table
from safetyheads.report.plots import outcome_bars_png
from safetyheads.report.read import EvalPart
from safetyheads.report.sections import Context, Heading, ablation_words, section
from safetyheads.report.stats import difference, outcome_count

MAX_EXAMPLES = 4
EXAMPLES_PER_OUTCOME = 2
MAX_RESPONSE_CHARS = 700

BADGES = {"complied": "b-harm", "refused": "b-safe", "broken": "b-degen"}


def _ablation_text(value: Any) -> str:
    """The ``ablation`` of an eval summary: {"kind": ..., "epsilon": ...}, or (older summaries) its name."""
    if isinstance(value, dict):
        return ablation_words(value.get("kind", "?"), value.get("epsilon"))
    return ablation_words(value, None)


def _row(e: EvalPart, base: EvalPart | None) -> list[str]:
    s = e.summary
    delta = (
        points(difference(s.get("complied"), base.summary.get("complied")))
        if base is not None and e is not base
        else "–"
    )
    n = s.get("n")
    n_text = esc(n) + (f" of {esc(e.expected)}" if isinstance(e.expected, int) and e.expected != n else "")
    flag = ' <span class="badge b-part">partial</span>' if e.partial else ""
    return [
        f"{esc(e.label)}{flag}",
        esc(e.what()),
        esc(_ablation_text(s.get("ablation")) if not e.is_base else "–"),
        share(s, "refused"),
        f"<b>{share(s, 'complied')}</b>",
        esc(delta),
        share(s, "broken"),
        n_text,
        esc(s.get("judge", e.settings.get("judge", "–"))),
    ]


ASR = Heading(
    "asr",
    "Attack success rate before and after ablation",
    "ASR (eval)",
    "Not in this run: no <code>eval_summary.json</code> or <code>eval.jsonl</code> in the run directory or "
    "its subdirectories (<code>safetyheads eval --out DIR/eval_base</code>, then with <code>--heads</code> "
    "into <code>DIR/eval_ablated</code>).",
)


def asr(ctx: Context) -> str:
    return section(ctx, ASR, ctx.contents.evals, lambda: _asr_body(ctx))


def _asr_body(ctx: Context) -> str:
    evals = ctx.contents.evals
    out = []
    if not any(e.is_base for e in evals):
        out.append('<p class="missing">No base run (an eval with no heads ablated) was found.</p>')
    if all(e.is_base for e in evals):
        out.append('<p class="missing">No ablated run (an eval with <code>--heads</code>) was found.</p>')
    base = next((e for e in evals if e.is_base), None)
    out.append(
        '<p class="note">Each answer is judged <b>refused</b>, <b>complied</b> (it attempts the harmful task, '
        "readably: attack success) or <b>broken</b> (neither: off-topic, nonsense, loops). Brackets hold "
        "95% bootstrap intervals over prompts.</p>"
    )
    headers = ["run", "heads", "ablation", "refused", "complied (ASR)", "Δ complied vs base", "broken", "n", "judge"]
    out.append(table("asr-table", headers, [_row(e, base) for e in evals], {3, 4, 5, 6, 7}))
    if any(e.partial for e in evals):
        out.append(
            '<p class="note">Partial runs have no <code>eval_summary.json</code> yet; their shares come from '
            "<code>eval.jsonl</code>.</p>"
        )
    labels = [e.what().removeprefix("ablated: ") + f" ({e.label})" for e in evals]
    data, _path = ctx.figure(
        lambda p: outcome_bars_png(labels, [e.summary for e in evals], "What the answers did", p), "asr.png"
    )
    out.append(f"<figure>{img(data, 'refused, complied and broken per run', 'asr-chart', 'chart')}</figure>")
    out += [_categories(evals), _examples(evals), _per_outcome(evals)]
    return "".join(out)


def _categories(evals: list[EvalPart]) -> str:
    cats = sorted({c for e in evals for c in (e.summary.get("categories") or {})})
    if not cats:
        return ""
    headers = ["category"] + [("base" if e.is_base else "ablated") + f" ({e.label})" for e in evals]
    rows = []
    for cat in cats:
        row = [esc(cat)]
        for e in evals:
            s = (e.summary.get("categories") or {}).get(cat) or {}
            row.append(f"{pct(s.get('complied'))} <span class='note'>(n={esc(s.get('n', 0))})</span>" if s else "–")
        rows.append(row)
    return "<h3>Complied share (ASR) per category</h3>" + table("asr-categories", headers, rows)


def _answer(e: EvalPart, record: dict[str, Any]) -> str:
    badges = []
    outcome = record.get("outcome")
    if outcome in BADGES:
        badges.append(f'<span class="badge {BADGES[outcome]}">{esc(outcome)}</span>')
    text = record.get("response")
    if text is None:
        body = '<p class="note">(no text generated: judged without generating)</p>'
    else:
        text = str(text)
        if len(text) > MAX_RESPONSE_CHARS:
            text = text[:MAX_RESPONSE_CHARS] + " …"
        body = f"<pre>{esc(text)}</pre>"
    who = e.what().removeprefix("ablated: ")
    return f'<div class="answer"><b>{esc(who)}</b> {" ".join(badges)}{body}</div>'


def _examples(evals: list[EvalPart]) -> str:
    with_records = [e for e in evals if e.records]
    if not with_records:
        return '<p class="note">No per-prompt answers (<code>eval.jsonl</code>) to show.</p>'
    base = next((e for e in with_records if e.is_base), None)
    others = [e for e in with_records if e is not base]
    by_prompt = {id(e): {str(r.get("prompt")): r for r in e.records} for e in with_records}
    if base is not None and others:
        first = others[0]

        def rank(prompt: str) -> tuple[int, int]:
            b = by_prompt[id(base)].get(prompt) or {}
            a = by_prompt[id(first)].get(prompt) or {}
            flipped = b.get("outcome") != "complied" and a.get("outcome") == "complied"
            return (0 if flipped else 1 if a.get("outcome") != b.get("outcome") else 2, 0)

        shared = [p for p in by_prompt[id(base)] if all(p in by_prompt[id(e)] for e in others)]
        prompts = sorted(shared, key=rank)[:MAX_EXAMPLES]
        shown = [base, *others]
    else:
        e = with_records[0]
        prompts = [str(r.get("prompt")) for r in sorted(e.records, key=lambda r: r.get("outcome") != "complied")][
            :MAX_EXAMPLES
        ]
        shown = [e]
    cards = []
    for prompt in prompts:
        answers = "".join(_answer(e, by_prompt[id(e)][prompt]) for e in shown if prompt in by_prompt[id(e)])
        cards.append(
            f'<div class="example"><div class="prompt">Prompt: {esc(prompt)}</div>'
            f'<div class="answers">{answers}</div></div>'
        )
    note = (
        "Prompts where the base model did not comply and the ablated model complied come first."
        if base is not None and others
        else ""
    )
    return f'<h3>Example responses</h3><p class="note">{note}</p><div id="examples">{"".join(cards)}</div>'


def _per_outcome(evals: list[EvalPart]) -> str:
    """Up to two answers of each outcome for every run: what "refused", "complied" and "broken" looked like."""
    blocks = []
    for e in (e for e in evals if e.records):
        cells = []
        for outcome in ("refused", "complied", "broken"):
            picked = [r for r in e.records if r.get("outcome") == outcome][:EXAMPLES_PER_OUTCOME]
            answers = "".join(
                f'<div class="prompt">Prompt: {esc(r.get("prompt"))}</div>{_answer(e, r)}' for r in picked
            )
            cells.append(
                f"<h4>{esc(outcome)} ({outcome_count(e.records, outcome)})</h4>"
                + (answers or '<p class="note">none</p>')
            )
        blocks.append(f"<details><summary>{esc(e.label)}: {esc(e.what())}</summary>{''.join(cells)}</details>")
    if not blocks:
        return ""
    return (
        "<h3>Two answers of each outcome, per run</h3>"
        '<p class="note">The first answers (in prompt order) that the judge called refused, complied and broken: '
        "read them before trusting a share.</p>" + "".join(blocks)
    )
