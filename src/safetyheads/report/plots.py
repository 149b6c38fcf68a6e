"""Figures as PNG files (matplotlib's Agg canvas: no display, no global pyplot state).

``heatmap_png(grid, title, path)`` draws a layer x head grid (``None`` cells grey) and returns the PNG
bytes, also writing them to ``path`` when given; ``interval_bars_png`` draws rates with their intervals.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from safetyheads.scores.compare import RunScores, top_k

Grid = Sequence[Sequence[float | None]]


def _as_array(grid: Grid) -> np.ma.MaskedArray:
    rows = [[math.nan if v is None else float(v) for v in row] for row in grid]
    width = max((len(r) for r in rows), default=0)
    arr = np.full((len(rows), width), math.nan)
    for i, row in enumerate(rows):
        arr[i, : len(row)] = row
    return np.ma.masked_invalid(arr)


def _ticks(n: int, most: int = 16) -> list[int]:
    step = max(1, math.ceil(n / most))
    return list(range(0, n, step))


def _save(fig: Figure, path: str | Path | None, dpi: int) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": "safetyheads"})
    data = buf.getvalue()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return data


def heatmap_png(
    grid: Grid,
    title: str,
    path: str | Path | None = None,
    *,
    colorbar_label: str = "",
    highlight: Sequence[tuple[int, int]] = (),
    cmap: str = "viridis",
    dpi: int = 150,
) -> bytes:
    """A heatmap of ``grid[layer][head]`` (layer 0 at the bottom); ``highlight`` cells get a red frame.

    Cells of up to 12 x 12 grids are labelled with their values. Returns the PNG bytes.
    """
    arr = _as_array(grid)
    n_layers, n_heads = arr.shape
    width = min(16.0, max(4.5, 0.28 * n_heads + 2.2))
    height = min(13.0, max(3.2, 0.24 * n_layers + 1.6))
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    colours = _cmap(cmap)
    if arr.count() == 0:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        image = ax.imshow(np.zeros((max(n_layers, 1), max(n_heads, 1))), cmap=colours, vmin=0, vmax=1, aspect="auto")
    else:
        image = ax.imshow(arr, cmap=colours, origin="lower", aspect="auto", interpolation="nearest")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    ax.set_xticks(_ticks(n_heads))
    ax.set_yticks(_ticks(n_layers))
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    if colorbar_label:
        bar.set_label(colorbar_label)
    if 0 < n_layers <= 12 and 0 < n_heads <= 12 and arr.count():
        lo, hi = float(arr.min()), float(arr.max())
        for layer in range(n_layers):
            for head in range(n_heads):
                v = arr[layer, head]
                if v is np.ma.masked:
                    continue
                dark = (float(v) - lo) / (hi - lo or 1.0) < 0.6
                ax.text(head, layer, f"{float(v):.3g}", ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")  # fmt: skip
    for layer, head in highlight:
        if 0 <= layer < n_layers and 0 <= head < n_heads:
            ax.add_patch(Rectangle((head - 0.5, layer - 0.5), 1, 1, fill=False, edgecolor="#e0245e", linewidth=1.8))
    return _save(fig, path, dpi)


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="#d9d9d9")


def interval_bars_png(
    labels: Sequence[str],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    title: str,
    path: str | Path | None = None,
    *,
    ylabel: str = "",
    as_percent: bool = True,
    dpi: int = 150,
) -> bytes:
    """Bars with interval whiskers (``None`` values are left out). Returns the PNG bytes."""
    scale = 100.0 if as_percent else 1.0
    fig = Figure(figsize=(min(12.0, max(4.5, 1.3 * len(labels) + 2)), 3.4), layout="constrained")
    ax = fig.add_subplot()
    xs = np.arange(len(labels))
    vals = np.array([math.nan if v is None else v * scale for v in values])
    err_lo = np.array(
        [0.0 if (v is None or lo is None) else (v - lo) * scale for v, lo in zip(values, lows, strict=True)]
    )
    err_hi = np.array(
        [0.0 if (v is None or hi is None) else (hi - v) * scale for v, hi in zip(values, highs, strict=True)]
    )
    palette = ["#4c78a8", "#e45756", "#f58518", "#54a24b", "#b279a2", "#9d755d"]
    colours = [palette[i % len(palette)] for i in range(len(labels))]
    ax.bar(xs, np.nan_to_num(vals), color=colours, yerr=[err_lo, err_hi], capsize=6, width=0.6)
    for x, v in zip(xs, vals, strict=True):
        if not math.isnan(v):
            ax.text(x, v, f" {v:.1f}{'%' if as_percent else ''}", ha="left", va="bottom", fontsize=9)
    ax.set_xticks(xs, [_wrap(label) for label in labels], fontsize=8)
    ax.set_ylim(0, 100 if as_percent else max(1.0, float(np.nanmax(vals)) * 1.15 if len(vals) else 1.0))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path, dpi)


def outcome_bars_png(
    labels: Sequence[str],
    shares: Sequence[dict[str, float | None]],
    title: str,
    path: str | Path | None = None,
    *,
    dpi: int = 150,
) -> bytes:
    """One stacked bar per condition: the shares refused, complied and broken (in percent). Returns PNG bytes."""
    fig = Figure(figsize=(min(12.0, max(4.5, 1.3 * len(labels) + 2)), 3.6), layout="constrained")
    ax = fig.add_subplot()
    xs = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for key, colour in (("refused", "#4c78a8"), ("complied", "#e45756"), ("broken", "#bab0ac")):
        vals = np.array([100.0 * (s.get(key) or 0.0) for s in shares])
        ax.bar(xs, vals, bottom=bottom, color=colour, width=0.6, label=key)
        for x, v, b in zip(xs, vals, bottom, strict=True):
            if v >= 8:
                ax.text(x, b + v / 2, f"{v:.0f}", ha="center", va="center", fontsize=8, color="white")
        bottom += vals
    ax.set_xticks(xs, [_wrap(label, 14) for label in labels], fontsize=7)
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of answers (%)")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return _save(fig, path, dpi)


def _wrap(label: str, width: int = 22) -> str:
    words, lines, line = label.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines)


def side_by_side_png(a: RunScores, b: RunScores, path: str | Path | None, k: int = 5, label: str = "mean") -> bytes:
    """Both runs' heatmaps next to each other (``plots.heatmap_png``), each run's top-k heads framed."""
    import matplotlib.image as mpimg

    va, vb = a.values(), b.values()
    images = []
    for run, values in ((a, va), (b, vb)):
        top = top_k(values, k)
        shared = set(top_k(va, k)) & set(top_k(vb, k))
        title = f"{run.name}: top {k} framed, {len(shared)} shared"
        png = heatmap_png(run.grid, title, colorbar_label=label, highlight=[(h.layer, h.head) for h in top])
        images.append(mpimg.imread(io.BytesIO(png)))
    height = max(img.shape[0] for img in images)
    padded = []
    for img in images:
        pad = np.ones((height - img.shape[0], img.shape[1], img.shape[2]), dtype=img.dtype)
        padded.append(np.concatenate([img, pad], axis=0))
    gap = np.ones((height, 12, images[0].shape[2]), dtype=images[0].dtype)
    joined = np.concatenate([padded[0], gap, padded[1]], axis=1)
    buf = io.BytesIO()
    mpimg.imsave(buf, joined, format="png")
    data = buf.getvalue()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return data
