"""Writing the page: its CSS, escaping, tables, images, cells and the page frame.

The page has no scripts and loads nothing: its CSS is inline and its images are ``data:`` URIs (a
Content-Security-Policy says so too). Cells passed to ``table`` are already-escaped HTML.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any

from safetyheads.report.stats import number

CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#d8dde6; --soft:#f4f6f9; --accent:#3b5bdb; --bad:#c92a2a;
        --good:#2b8a3e; --warn:#e67700; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--ink); background:#fff; }
header { background:linear-gradient(90deg,#1f2a48,#3b5bdb); color:#fff; padding:22px 32px; }
header h1 { margin:0 0 4px; font-size:24px; }
header p { margin:0; opacity:.85; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:8px 32px 48px; }
section { margin-top:28px; }
h2 { font-size:19px; border-bottom:2px solid var(--line); padding-bottom:4px; margin:0 0 12px; }
h3 { font-size:16px; margin:18px 0 8px; }
table { border-collapse:collapse; margin:6px 0 14px; font-size:14px; }
th, td { border:1px solid var(--line); padding:5px 10px; text-align:left; vertical-align:top; }
th { background:var(--soft); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr:nth-child(even) td { background:#fafbfc; }
figure { margin:8px 0 16px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
figcaption { color:var(--muted); font-size:13px; }
.figs { display:flex; flex-wrap:wrap; gap:12px; }
.figs figure { flex:1 1 340px; max-width:560px; }
.note { color:var(--muted); font-size:13px; }
.missing { color:var(--warn); }
.badge { display:inline-block; padding:0 7px; border-radius:9px; font-size:12px; font-weight:600; color:#fff; }
.b-harm { background:var(--bad); } .b-safe { background:var(--good); } .b-degen { background:var(--warn); }
.b-part { background:var(--warn); } .b-ok { background:var(--good); }
.example { border:1px solid var(--line); border-radius:6px; padding:10px 14px; margin:10px 0; }
.example .prompt { font-weight:600; margin-bottom:6px; }
.answers { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:10px; }
.answer { background:var(--soft); border-radius:4px; padding:8px 10px; }
.answer pre { white-space:pre-wrap; word-break:break-word; margin:4px 0 0; font:13px/1.4 ui-monospace, Menlo,
              Consolas, monospace; }
code { background:var(--soft); padding:0 4px; border-radius:3px; }
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def slug(text: str) -> str:
    """A file-name and id-safe form of ``text``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "run"


def pct(x: Any) -> str:
    """A share in percent with one decimal, as ``eval`` prints it ("–" when not a number)."""
    v = number(x)
    return "–" if v is None else f"{100 * v:.1f}%"


def share(summary: dict[str, Any], key: str) -> str:
    """A share of an ``asr.summarize`` summary with its 95% interval (``<key>_ci``), for a table cell."""
    ci = summary.get(f"{key}_ci") or [None, None]
    if number(summary.get(key)) is None:
        return "–"
    return f"{pct(summary.get(key))} <span class='note'>[{pct(ci[0])}–{pct(ci[1])}]</span>"


def num(x: Any, digits: int = 4) -> str:
    v = number(x)
    return "–" if v is None else f"{v:.{digits}g}"


def points(x: float | None) -> str:
    """A difference of two shares in percentage points ("–" when unknown)."""
    return "–" if x is None else f"{100 * x:+.1f} pts"


def img(data: bytes, alt: str, element_id: str, css_class: str = "heatmap") -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<img id="{esc(element_id)}" class="{css_class}" alt="{esc(alt)}" src="{uri}">'


def table(
    element_id: str, headers: list[str], rows: list[list[str]], numeric: set[int] | frozenset[int] = frozenset()
) -> str:
    """A table whose cells are already-escaped HTML."""
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>" for i, h in
                   enumerate(headers))  # fmt: skip
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )  # fmt: skip
    return f'<table id="{esc(element_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def missing_section(section_id: str, title: str, text: str) -> str:
    """A whole section that only says what is missing (``<section_id>-missing``) and how to make it."""
    return (
        f'<section id="{section_id}"><h2>{title}</h2><p class="missing" id="{section_id}-missing">{text}</p></section>'
    )


def page(title: str, subtitle: str, body: str) -> str:
    """The whole self-contained document; ``title`` is plain text, ``subtitle`` and ``body`` HTML."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>safetyheads report: {esc(title)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>Safety heads report: {esc(title)}</h1><p>{subtitle}</p></header>"
        f"<main>{body}</main></body></html>\n"
    )
