"""Every measured figure of an evaluation mode, on the three test sets, beside the two controls.

An evaluation mode scores a list of test examples; each scorer (the base model, the trained model,
the retrieval and majority controls of :mod:`deepeyes_core.contamination`) gives one outcome per
example (right or not). This module cuts those outcomes by set (``all``; ``clean``: no train
example at or above the near-duplicate threshold; ``near_duplicate``), puts a 95 % bootstrap
interval on every accuracy and a paired comparison on every gain, and picks the set the headline
is measured on: ``clean`` when it holds at least ``min_clean_examples``, else ``all``, with the
reason written down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .contamination import Nearest
from .uncertainty import (
    RESAMPLES,
    SEED,
    Interval,
    PairedComparison,
    accuracy_interval,
    compare,
)

SETS = ("all", "clean", "near_duplicate")
CONTROLS = ("retrieval", "majority")
CONTROL_DESCRIPTIONS = {
    "retrieval": "answers with the calls of the train example whose task text is most similar",
    "majority": "answers with train's most frequent trajectory (for the first tool the task names)",
}
METHOD = (f"paired bootstrap, {RESAMPLES:,} resamples (seed {SEED}), 95% percentile intervals; "
          "McNemar's exact test on the examples only one of the two got right")


def _interval(i: Interval) -> dict[str, float]:
    return {"estimate": i.estimate, "low": i.low, "high": i.high}


def paired(paired: PairedComparison) -> dict[str, Any]:
    """A paired comparison as report data: both accuracies' intervals, the gain's, McNemar."""
    return {
        "method": METHOD,
        "examples": paired.n,
        "base": _interval(paired.base),
        "trained": _interval(paired.trained),
        "improvement_pts": _interval(paired.gain_pts),
        "trained_only_right": paired.trained_only,
        "base_only_right": paired.base_only,
        "mcnemar_p": paired.mcnemar_p,
        "significant": paired.significant,
        "summary": paired.summary(),
    }


def membership(nearest: Sequence[Nearest] | None, threshold: float) -> dict[str, list[int]] | None:
    """The positions of the examples in each set, or None when nothing is known of train."""
    if nearest is None:
        return None
    near = [i for i, n in enumerate(nearest) if n.at_least(threshold)]
    near_set = set(near)
    return {"all": list(range(len(nearest))), "clean": [i for i in range(len(nearest)) if i not in near_set],
            "near_duplicate": near}


def set_figures(outcomes: Mapping[str, Sequence[bool]], positions: Sequence[int]) -> dict[str, Any]:
    """Every scorer's accuracy and interval on the examples at ``positions``; the trained model's
    gain over the base model and over the strongest control, where both were measured."""
    figures: dict[str, Any] = {"examples": len(positions), "accuracy": {}, "intervals": {}}
    if not positions:
        figures["accuracy"] = {name: None for name in outcomes}
        return figures
    picked = {name: [bool(o[i]) for i in positions] for name, o in outcomes.items()}
    for name, right in picked.items():
        interval = accuracy_interval(right)
        figures["accuracy"][name] = interval.estimate
        figures["intervals"][name] = _interval(interval)
    if "base" in picked and "trained" in picked:
        figures["improvement"] = paired(compare(picked["base"], picked["trained"]))
    controls = [name for name in CONTROLS if name in picked]
    if controls and "trained" in picked:
        strongest = max(controls, key=lambda name: (figures["accuracy"][name], -CONTROLS.index(name)))
        versus = paired(compare(picked[strongest], picked["trained"]))
        figures["trained_vs_strongest_control"] = {"control": strongest, **versus}
    return figures


def all_sets(outcomes: Mapping[str, Sequence[bool]], sets: Mapping[str, list[int]] | None, n: int) -> dict[str, Any]:
    """:func:`set_figures` on each set (on ``all`` only when the sets are unknown)."""
    if sets is None:
        return {"all": set_figures(outcomes, list(range(n)))}
    return {name: set_figures(outcomes, sets[name]) for name in SETS}


def headline_set(sets: Mapping[str, Mapping[str, Any]], min_clean: int, threshold: float) -> tuple[str, str]:
    """The set the headline is measured on, and why."""
    if "clean" not in sets:
        return "all", "all test examples (no train split was given, so contamination is unknown)"
    clean = sets["clean"]["examples"]
    if clean >= min_clean:
        return "clean", (f"the {clean} clean test examples (no train example at or above similarity "
                         f"{threshold:g}; {sets['near_duplicate']['examples']} near-duplicates left out)")
    return "all", (f"all {sets['all']['examples']} test examples: only {clean} are clean, fewer than "
                   f"min_clean_examples = {min_clean}")
