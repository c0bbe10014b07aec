"""The diagnostic's charts: SVG drawn by matplotlib's own SVG backend (no browser).

Each chart is an `<svg>` element to put inline in the report. The same numbers give the same
bytes: no date, a fixed hash salt for ids, text as text (`svg.fonttype: none`, so it is small
and selectable, in the page's font), and ids prefixed per chart so that several charts in one
page never share one. Labels are data (group names): they are drawn as plain text, never
parsed as mathtext, and matplotlib escapes them for XML.

matplotlib is imported on the first chart drawn (about half a second), not with the module.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

ACCENT = "#1d4f91"
ERROR = "#b91c1c"
WARNING = "#b45309"
TRACK = "#e5e7eb"
INK = "#1f2933"
MUTED = "#6b7280"
#: Longest label drawn in full; longer ones end in an ellipsis (the tables have them whole).
LABEL_CHARS = 30

_RC: Any = {  # matplotlib types its keys as a Literal of every setting
    "svg.hashsalt": "handoff-brief",
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.edgecolor": TRACK,
    "axes.labelcolor": INK,
    "text.color": INK,
    "xtick.color": MUTED,
    "ytick.color": INK,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
}
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "\u2026"


P = ParamSpec("P")


def _chart(name: str) -> Callable[[Callable[P, Any]], Callable[P, str]]:
    """A function that draws a figure, made one that returns its SVG: matplotlib's settings
    hold from the first line drawn to the SVG written."""
    def wrap(draw: Callable[P, Any]) -> Callable[P, str]:
        @functools.wraps(draw)
        def chart(*args: P.args, **kwargs: P.kwargs) -> str:
            from matplotlib import rc_context

            with rc_context(_RC):
                return _svg(draw(*args, **kwargs), name)
        return chart
    return wrap


def _figure(height: float) -> Any:
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.6, height), dpi=72)
    FigureCanvasSVG(figure)
    figure.patch.set_alpha(0)
    return figure


_ID = re.compile(r' id="([^"]+)"')


def _svg(figure: Any, name: str) -> str:
    """The figure as an inline `<svg>`: no XML prolog nor metadata, only the ids something
    refers to (clip paths), prefixed with `name`, and a title for screen readers."""
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata=_METADATA, bbox_inches="tight", pad_inches=0.04)
    text = out.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    used = set(re.findall(r"url\(#([^)]+)\)|href=\"#([^\"]+)\"", text))
    wanted = {ref for pair in used for ref in pair if ref}
    text = _ID.sub(lambda m: f' id="{name}-{m.group(1)}"' if m.group(1) in wanted else "", text)
    text = re.sub(r"(url\(#|href=\"#)", rf"\g<1>{name}-", text)
    head, rest = text.split(">", 1)
    title = _TITLES.get(name, name)
    return (f'{head} id="{name}" role="img" aria-labelledby="{name}-title">'
            f'<title id="{name}-title">{title}</title>{rest}')


_TITLES = {"chart-groups": "Readiness by group", "chart-ages": "Evidence age",
           "chart-findings": "Findings frequency"}


def _bars(ax: Any, labels: Sequence[str]) -> None:
    ax.set_yticks(range(len(labels)), [short(label) for label in labels])
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0, pad=4)
    ax.tick_params(axis="x", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color=TRACK, linewidth=0.6)
    ax.set_axisbelow(True)


@_chart("chart-groups")
def readiness_chart(groups: Sequence[tuple[str, float, str]], by: str) -> Any:
    """Horizontal bars: the share of each group's handoffs that are ready, worst first.
    `groups` are (name, share ready, the label beside its bar)."""
    figure = _figure(0.6 + 0.26 * max(len(groups), 1))
    ax = figure.add_subplot()
    rows = range(len(groups))
    ax.barh(rows, [100] * len(groups), color=TRACK, height=0.62)
    ax.barh(rows, [100 * rate for _, rate, _ in groups], color=ACCENT, height=0.62)
    for row, (_, _, label) in enumerate(groups):
        ax.text(101.5, row, label, va="center", fontsize=8.5, color=INK)
    _bars(ax, [name for name, _, _ in groups])
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel(f"ready, by {by.replace('_', ' ')}", color=MUTED)
    return figure


@_chart("chart-ages")
def age_chart(bins: Sequence[tuple[str, int, bool]], stale_after_days: int) -> Any:
    """Columns: dated facts per age bin (days from checked_on to prepared_on); the bins past
    `stale_after_days` in the warning colour. `bins` are (label, facts, stale)."""
    figure = _figure(2.2)
    ax = figure.add_subplot()
    counts = [count for _, count, _ in bins]
    colours = [WARNING if stale else ACCENT for _, _, stale in bins]
    ax.bar(range(len(bins)), counts, color=colours, width=0.66)
    top = max(counts + [1])
    for column, count in enumerate(counts):
        ax.text(column, count + top * 0.02, f"{count:,}", ha="center", va="bottom",
                fontsize=8.5)
    ax.set_xticks(range(len(bins)), [label for label, _, _ in bins])
    ax.set_ylim(0, top * 1.18)
    ax.tick_params(length=0)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(f"days old (stale after {stale_after_days})", color=MUTED)
    return figure


@_chart("chart-findings")
def findings_chart(rules: Sequence[tuple[str, int, str, str]]) -> Any:
    """Horizontal bars: how many handoffs each rule fired on, most first, coloured by level.
    `rules` are (rule, handoffs, level, the label beside its bar)."""
    figure = _figure(0.6 + 0.26 * max(len(rules), 1))
    ax = figure.add_subplot()
    counts = [count for _, count, _, _ in rules]
    colours = [ERROR if level == "error" else WARNING for _, _, level, _ in rules]
    ax.barh(range(len(rules)), counts, color=colours, height=0.62)
    top = max(counts + [1])
    for row, (_, count, _, label) in enumerate(rules):
        ax.text(count + top * 0.015, row, label, va="center", fontsize=8.5)
    _bars(ax, [rule for rule, _, _, _ in rules])
    ax.set_xlim(0, top * 1.2)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_xlabel("handoffs it fired on (red: error, amber: warning)", color=MUTED)
    return figure
