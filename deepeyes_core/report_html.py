"""The training report as one self-contained HTML page (inline SVG charts, no scripts, no downloads)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .io import atomic_write

_BASE, _TRAINED, _VAL = "#9aa5b1", "#2f6fde", "#e07b24"
#: The colour of each scorer in the chart of sets: the two models and the two controls.
_SCORERS = {"base": _BASE, "retrieval": "#8e6bbf", "majority": "#3ba99c", "trained": _TRAINED}
_SET_TITLES = {"all": "all test examples", "clean": "clean (no near-duplicate in train)",
               "near_duplicate": "near-duplicates of train"}
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:980px;color:#1f2933;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e4e7eb;padding-bottom:.3rem}
.sub{color:#616e7c}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:.7rem 1rem;min-width:150px}
.card b{display:block;font-size:1.4rem}.muted{color:#9aa5b1}table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .7rem;border-bottom:1px solid #f0f2f4;text-align:left}svg text{font:12px system-ui,sans-serif;fill:#3e4c59}
.warning{background:#fff3c4;border-left:4px solid #f0b429;padding:.5rem .8rem}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _pct(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.1%}"


#: Rows of the base-vs-trained table of each evaluation mode: label, key of the per-model scores, format.
_SCORES = {
    "blind-sequence": (
        ("exact call sequence", "exact_sequence_accuracy", _pct),
        ("tool names in order", "tool_name_sequence_accuracy", _pct),
        ("calls right (name and arguments)", "argument_accuracy", _pct),
        ("unparseable answers", "unparseable", str),
    ),
    "step": (
        ("whole trajectories right (every step)", "trajectory_accuracy", _pct),
        ("steps right (calls as a set)", "step_accuracy", _pct),
        ("calls right (name and arguments)", "call_accuracy", _pct),
        ("steps answered without a call", "steps_without_calls", str),
    ),
}
_MODE_TITLES = {
    "step": "step by step: each step answered with the real history before it",
    "blind-sequence": "blind sequence: the whole call sequence predicted without results",
}


def _first_errors(errors: Mapping[str, int]) -> str:
    return ", ".join(f"{'none' if k == 'none' else 'step ' + str(int(k) + 1)}: {n}" for k, n in errors.items())


def _mode_table(ev: Mapping[str, Any], mode: str, scores: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{label}</td><td>{fmt(scores['base'].get(key))}</td><td>{fmt(scores['trained'].get(key))}</td></tr>"
        for label, key, fmt in _SCORES[mode])
    if mode == "step":
        rows += (f"<tr><td>first wrong step (trajectories)</td><td>{_esc(_first_errors(scores['base']['first_error']))}"
                 f"</td><td>{_esc(_first_errors(scores['trained']['first_error']))}</td></tr>")
    return (f"<h2>Held-out test split ({ev.get('test_examples')} tasks), base vs trained, "
            f"{_esc(_MODE_TITLES[mode])}</h2><table><tr><th></th><th>base</th><th>trained</th></tr>{rows}</table>")


def _legend(*items: tuple[str, str]) -> str:
    return "<div class=legend>" + "".join(f"<span style='background:{c}'></span>{_esc(n)}" for n, c in items) + "</div>"


def paired_bars(rows: Mapping[str, tuple[float | None, float | None]], width: int = 900) -> str:
    """Horizontal bars, base (grey) above trained (blue), 0..100 %, one pair per row."""
    label_w, bar_h, gap = 220, 11, 10
    plot_w = width - label_w - 60
    height = len(rows) * (2 * bar_h + gap) + 24
    parts = [f"<svg width='{width}' height='{height}' role='img'>"]
    for i, (name, (before, after)) in enumerate(rows.items()):
        y = 8 + i * (2 * bar_h + gap)
        parts.append(f"<text x='0' y='{y + bar_h + 4}'>{_esc(name)}</text>")
        for j, (value, colour) in enumerate(((before, _BASE), (after, _TRAINED))):
            v = value or 0.0
            parts.append(f"<rect x='{label_w}' y='{y + j * bar_h}' width='{plot_w * v:.1f}' height='{bar_h - 1}' fill='{colour}'/>")
            parts.append(f"<text x='{label_w + plot_w * v + 4:.1f}' y='{y + j * bar_h + bar_h - 2}'>{_pct(value)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def interval_bars(groups: Mapping[str, Mapping[str, Mapping[str, Any]]], width: int = 900) -> str:
    """Horizontal bars with 95 % interval whiskers, 0..100 %: one group per test set, one bar per
    scorer (base, controls, trained) that was measured on it."""
    label_w, bar_h, gap = 260, 14, 14
    plot_w = width - label_w - 170
    rows = sum(len(g) for g in groups.values())
    height = rows * bar_h + len(groups) * (gap + 16) + 10
    parts = [f"<svg width='{width}' height='{height}' role='img' class='intervals'>"]
    y = 4
    for title, bars in groups.items():
        parts.append(f"<text x='0' y='{y + 12}' font-weight='bold'>{_esc(title)}</text>")
        y += 16
        for name, figure in bars.items():
            estimate, low, high = figure["estimate"], figure["low"], figure["high"]
            colour = _SCORERS.get(name, _BASE)
            parts.append(f"<text x='16' y='{y + bar_h - 3}'>{_esc(name)}</text>")
            parts.append(f"<rect x='{label_w}' y='{y}' width='{plot_w * estimate:.1f}' height='{bar_h - 3}' "
                         f"fill='{colour}' data-scorer='{_esc(name)}'/>")
            mid = y + (bar_h - 3) / 2
            parts.append(f"<line class='whisker' x1='{label_w + plot_w * low:.1f}' y1='{mid:.1f}' "
                         f"x2='{label_w + plot_w * high:.1f}' y2='{mid:.1f}' stroke='#1f2933' stroke-width='1.5'/>")
            for end in (low, high):
                parts.append(f"<line x1='{label_w + plot_w * end:.1f}' y1='{y + 1}' x2='{label_w + plot_w * end:.1f}' "
                             f"y2='{y + bar_h - 4}' stroke='#1f2933' stroke-width='1.5'/>")
            parts.append(f"<text x='{label_w + plot_w * max(high, estimate) + 6:.1f}' y='{y + bar_h - 3}'>"
                         f"{estimate:.1%} ({low:.1%} to {high:.1%})</text>")
            y += bar_h
        y += gap
    parts.append("</svg>")
    return "".join(parts)


def _sets_section(ev: Mapping[str, Any]) -> str:
    """Base, controls and trained on each test set, with intervals: the chart and a table."""
    modes = ev.get("modes") or {}
    mode = ev.get("mode") or (ev.get("controls") or {}).get("mode")
    sets = (modes.get(mode) or {}).get("sets") or {}
    if not sets:
        return ""
    order = [name for name in _SCORERS if any(name in (f.get("intervals") or {}) for f in sets.values())]
    groups = {f"{_SET_TITLES[key]} ({figures['examples']})": {name: figures["intervals"][name] for name in order
                                                              if name in figures.get("intervals", {})}
              for key, figures in sets.items()}
    metric = (modes.get(mode) or {}).get("description", "")
    rows = "".join(
        f"<tr><td>{_esc(_SET_TITLES[key])}</td><td>{figures['examples']}</td>"
        + "".join(f"<td>{_pct(figures['accuracy'].get(name))}</td>" for name in order)
        + f"<td>{_esc((figures.get('improvement') or {}).get('summary', '-'))}</td></tr>"
        for key, figures in sets.items())
    headline = ev.get("headline_set_reason") or (modes.get(mode) or {}).get("headline_set_reason", "")
    contamination = ev.get("contamination") or {}
    return (f"<h2>Base, controls and trained on each test set ({_esc(metric)}, {_esc(mode)} mode)</h2>"
            f"<p class=muted>Near-duplicate: {_esc(contamination.get('definition', ''))}. Headline measured on "
            f"{_esc(headline)}. Bars: accuracy; whiskers: 95% bootstrap interval."
            + (f" Evaluated on {_esc(ev['test_sample'])}." if ev.get("test_sample") else "") + "</p>"
            + interval_bars({title: bars for title, bars in groups.items() if bars})
            + "<table><tr><th>set</th><th>examples</th>" + "".join(f"<th>{_esc(n)}</th>" for n in order)
            + "<th>trained vs base</th></tr>" + rows + "</table>")


def _routing_section(routing: Mapping[str, Any]) -> str:
    """Where the router sent the examples by the base model's pass rate."""
    rows = (("cold-start SFT (never solved)", routing.get("sft")),
            ("RL pool, rl_pool.jsonl (solved sometimes)", routing.get("rl_pool")),
            ("dropped (solved reliably)", routing.get("dropped_solved")))
    return (f"<h2>Routing by the base model's pass rate ({_esc(routing.get('router'))})</h2>"
            f"<p class=muted>{_esc(routing.get('samples'))} samples per example at temperature "
            f"{_esc(routing.get('temperature'))}; {_esc(routing.get('examples'))} examples routed.</p><table>"
            + "".join(f"<tr><td>{label}</td><td>{_esc(count)}</td></tr>" for label, count in rows) + "</table>")


def line_chart(series: Mapping[str, tuple[str, Sequence[float | None]]], width: int = 600, height: int = 220,
               log_scale: bool = False, top: float | None = None) -> str:
    """Lines over epochs (1..n); each series is (colour, values). ``log_scale`` for losses, which
    fall by orders of magnitude (non-positive values are then left out); ``top`` fixes a linear
    axis's top (1.0 for accuracies)."""
    values = [v for _, vs in series.values() for v in vs if v is not None and (v > 0 or not log_scale)]
    if not values:
        return "<p class=muted>not measured</p>"
    scale = math.log10 if log_scale else float
    low, high = (scale(min(values)), scale(max(values))) if log_scale else (0.0, top or max(values) * 1.1 or 1.0)
    span = (high - low) or 1.0
    n = max(len(vs) for _, vs in series.values())
    left, bottom = 50, 30
    pw, ph = width - left - 20, height - bottom - 10

    def xy(i: int, v: float) -> str:
        x = left + (pw * i / max(n - 1, 1))
        return f"{x:.1f},{10 + ph - ph * (scale(v) - low) / span:.1f}"

    bottom_label = f"{min(values):.3g}" if log_scale else "0"
    parts = [f"<svg width='{width}' height='{height}' role='img'>",
             f"<line x1='{left}' y1='{10 + ph}' x2='{left + pw}' y2='{10 + ph}' stroke='#cbd2d9'/>",
             f"<text x='0' y='16'>{max(values) if log_scale else high:.3g}</text>"
             f"<text x='0' y='{10 + ph}'>{bottom_label}</text>"]
    if log_scale:
        parts.append(f"<text x='0' y='{10 + ph / 2:.0f}'>log</text>")
    for i in range(n):
        parts.append(f"<text x='{left + pw * i / max(n - 1, 1) - 4:.1f}' y='{height - 8}'>{i + 1}</text>")
    for colour, vs in series.values():
        points = [xy(i, v) for i, v in enumerate(vs) if v is not None and (v > 0 or not log_scale)]
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2.5' points='{' '.join(points)}'/>")
        parts.extend(f"<circle cx='{p.split(',')[0]}' cy='{p.split(',')[1]}' r='3.5' fill='{colour}'/>" for p in points)
    parts.append("</svg>")
    return "".join(parts)


def stacked_splits(stats: Mapping[str, Any], width: int = 900) -> str:
    """One bar per split, segmented by difficulty."""
    colours = {"easy": "#7bc47f", "medium": "#f0b429", "hard": "#d64545"}
    splits = [s for s in ("train", "val", "test") if isinstance(stats.get(s), Mapping)]
    total = max((stats[s]["count"] for s in splits), default=0) or 1
    parts = [f"<svg width='{width}' height='{len(splits) * 30 + 10}' role='img'>"]
    for i, split in enumerate(splits):
        x, y = 60, 6 + i * 30
        parts.append(f"<text x='0' y='{y + 15}'>{split}</text>")
        for level, colour in colours.items():
            count = stats[split].get("difficulty_distribution", {}).get(level, 0)
            w = (width - 160) * count / total
            if count:
                parts.append(f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='20' fill='{colour}'><title>{level}: {count}</title></rect>")
            x += w
        parts.append(f"<text x='{x + 6:.1f}' y='{y + 15}'>{stats[split]['count']}</text>")
    parts.append("</svg>")
    return "".join(parts) + _legend(*colours.items())


def render_report(report: Mapping[str, Any]) -> str:
    ev = report.get("evaluation") or {}
    training = report.get("training") or {}
    stats = report.get("dataset_stats") or {}
    cards = [
        ("examples", stats.get("total_examples", "-")),
        ("base model", _pct(ev.get("baseline_success_rate"))),
        ("trained model", _pct(ev.get("post_training_success_rate"))),
        ("improvement", "not measured" if ev.get("improvement_pct") is None
         else ev.get("improvement_summary") or f"{ev['improvement_pct']:+.1f} pts"),
        ("ready for RL", str(ev.get("readiness_for_rl"))),
    ]
    if ev.get("headline_set"):
        headline_figures = (ev.get("sets") or {}).get(ev["headline_set"]) or {}
        cards.insert(1, ("measured on", f"{_SET_TITLES[ev['headline_set']].split(' (')[0]} "
                                        f"({headline_figures.get('examples', '-')})"))
    body = [
        f"<h1>deepeyes training report</h1><p class=sub>{_esc(report.get('generated_at', ''))} · backend "
        f"<b>{_esc(report.get('backend', ''))}</b> · status <b>{_esc(report.get('status', ''))}</b></p>",
        "<div class=cards>" + "".join(f"<div class=card>{_esc(k)}<b>{_esc(v)}</b></div>" for k, v in cards) + "</div>",
    ]
    if ev.get("status") != "measured":
        body.append(f"<p class=muted>Evaluation not measured: {_esc(ev.get('reason', ''))}</p>")
    else:
        headline = ev.get("headline_metric") or {}
        body.append(f"<p class=muted>Base, trained and improvement: {_esc(headline.get('description', ev.get('metric')))}"
                    f" ({_esc(headline.get('mode', 'blind-sequence'))} mode).</p>")
    if matching := ev.get("matching"):
        body.append(f"<p class=muted>Arguments compared in <b>{_esc(matching['mode'])}</b> mode: "
                    f"{_esc(matching['description'])}.</p>")
    for warning in ev.get("warnings") or ():
        body.append(f"<p class=warning><b>Warning:</b> {_esc(warning)}</p>")
    body.append(_sets_section(ev))
    epochs = training.get("epochs") or []
    body.append("<h2>Loss per epoch</h2>")
    body.append(line_chart({
        "train loss": (_TRAINED, [e.get("train_loss") for e in epochs]),
        "val loss": (_VAL, [e.get("val_loss") for e in epochs]),
    }, log_scale=True) + _legend(("train loss", _TRAINED), ("val loss", _VAL)))
    body.append("<h2>Token accuracy per epoch</h2>")
    body.append(line_chart({
        "train": (_TRAINED, [e.get("train_token_accuracy") for e in epochs]),
        "val": (_VAL, [e.get("val_token_accuracy") for e in epochs]),
    }, top=1.0) + _legend(("train", _TRAINED), ("val", _VAL)))
    step_headline = ev.get("mode") == "step"
    if ev.get("status") == "measured":
        modes = ev.get("modes") or {"blind-sequence": {"status": "measured", "base": ev["base"], "trained": ev["trained"]}}
        for mode, scores in modes.items():
            if scores.get("status") == "measured":
                body.append(_mode_table(ev, mode, scores))
            else:
                body.append(f"<p class=muted>{_esc(mode)} mode {_esc(scores.get('status'))}: {_esc(scores.get('reason'))}</p>")
    tools = ev.get("tool_improvements") or {}
    if tools:
        phase1 = ev.get("phase1_success_rates") or {}
        body.append(f"<h2>Exact calls per tool, before and after{' (step mode)' if step_headline else ''}</h2>"
                    + _legend(("base", _BASE), ("trained", _TRAINED))
                    + "<p class=muted>Beside each tool: its success rate in the Phase 1 logs (context, not part of "
                      "the gain).</p>")
        body.append(paired_bars({
            f"{t} ({_pct(phase1[t])})" if t in phase1 else t: (v.get("before"), v.get("after"))
            for t, v in sorted(tools.items())
        }))
    per_difficulty = ev.get("per_difficulty") or {}
    if per_difficulty:
        body.append("<h2>Whole trajectories right per difficulty, before and after (step mode)</h2>" if step_headline
                    else "<h2>Exact sequences per difficulty, before and after</h2>")
        body.append(paired_bars({d: (v.get("before"), v.get("after")) for d, v in per_difficulty.items()}))
    if routing := stats.get("routing"):
        body.append(_routing_section(routing))
    if stats:
        body.append("<h2>Split composition</h2>" + stacked_splits(stats))
    rejects = (report.get("rejects") or {}).get("records_by_reason") or {}
    if rejects:
        body.append("<h2>Rejected records</h2><table>" + "".join(
            f"<tr><td>{_esc(k)}</td><td>{v}</td></tr>" for k, v in rejects.items()) + "</table>")
    body.append("<h2>Training</h2><table>" + "".join(
        f"<tr><td>{_esc(k)}</td><td>{_esc(training.get(k))}</td></tr>"
        for k in ("trained", "reason", "total_steps", "total_tokens", "wall_time_s", "device")) + "</table>")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>deepeyes training report</title>"
            f"<style>{_CSS}</style><body>{''.join(body)}</body></html>")


def write_html_report(report: Mapping[str, Any], path: Path) -> Path:
    with atomic_write(path, "w") as handle:
        handle.write(render_report(report))
    return path
