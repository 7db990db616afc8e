"""How sure a measured accuracy and a measured gain are: paired bootstrap intervals and McNemar's
exact test, on the per-example outcomes of two models answering the same test examples.

Outcomes are paired booleans (example i right for the base model, right for the trained one), so
a bootstrap resample is fully described by how many of the n examples fall in each of the four
(base, trained) cells: it is one multinomial draw, and 10,000 resamples cost a millisecond with
numpy. The interval is the percentile interval of the resampled statistic. McNemar's test uses
only the discordant examples (b: trained right and base wrong; c: the reverse): under "no
difference" b is Binomial(b + c, 1/2), and the exact two-sided p-value is scipy's ``binomtest``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

#: Resamples per interval, and the seed that makes a report reproducible.
RESAMPLES = 10_000
SEED = 42


@attrs.frozen(slots=True)
class Interval:
    """A point estimate with its 95 % interval (fractions, or percentage points for a gain)."""

    estimate: float
    low: float
    high: float


@attrs.frozen(slots=True)
class PairedComparison:
    """Two models on the same n examples: each one's accuracy with its interval, the gain in
    percentage points with its interval, and McNemar's exact test."""

    n: int
    base: Interval
    trained: Interval
    gain_pts: Interval
    #: Examples only the trained model got right, and only the base model got right.
    trained_only: int
    base_only: int
    mcnemar_p: float

    @property
    def significant(self) -> bool:
        """The gain's interval excludes 0."""
        return self.gain_pts.low > 0 or self.gain_pts.high < 0

    def summary(self) -> str:
        """``+30.5 pts (95% CI 21.1-39.9, p<0.001)``, or ``... not significant`` when the interval
        crosses 0."""
        g = self.gain_pts
        p = "p<0.001" if self.mcnemar_p < 0.001 else f"p={self.mcnemar_p:.3f}"
        text = f"{g.estimate:+.1f} pts (95% CI {g.low:+.1f} to {g.high:+.1f}, {p})"
        return text if self.significant else f"{text}, not significant"


def _percentiles(values, estimate: float, scale: float) -> Interval:
    import numpy as np

    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(estimate * scale, float(low) * scale, float(high) * scale)


def accuracy_interval(right: Sequence[bool], resamples: int = RESAMPLES, seed: int = SEED) -> Interval:
    """The accuracy of one model with its 95 % bootstrap interval."""
    import numpy as np

    n = len(right)
    if n == 0:
        raise ValueError("no outcomes to measure")
    p = sum(map(bool, right)) / n
    draws = np.random.default_rng(seed).binomial(n, p, size=resamples) / n
    return _percentiles(draws, p, 1.0)


def compare(
    base: Sequence[bool], trained: Sequence[bool], resamples: int = RESAMPLES, seed: int = SEED
) -> PairedComparison:
    """The paired comparison of two models' outcomes on the same examples (same order)."""
    import numpy as np
    from scipy.stats import binomtest

    if len(base) != len(trained):
        raise ValueError(f"paired outcomes differ in length: {len(base)} and {len(trained)}")
    n = len(base)
    if n == 0:
        raise ValueError("no outcomes to compare")
    cells = [0, 0, 0, 0]  # (base, trained): (F,F), (F,T), (T,F), (T,T)
    for b, t in zip(base, trained):
        cells[2 * bool(b) + bool(t)] += 1
    draws = np.random.default_rng(seed).multinomial(n, [c / n for c in cells], size=resamples)
    base_rate = (draws[:, 2] + draws[:, 3]) / n
    trained_rate = (draws[:, 1] + draws[:, 3]) / n
    base_p, trained_p = (cells[2] + cells[3]) / n, (cells[1] + cells[3]) / n
    trained_only, base_only = cells[1], cells[2]
    discordant = trained_only + base_only
    p_value = 1.0 if discordant == 0 else float(binomtest(trained_only, discordant, 0.5).pvalue)
    return PairedComparison(
        n=n,
        base=_percentiles(base_rate, base_p, 1.0),
        trained=_percentiles(trained_rate, trained_p, 1.0),
        gain_pts=_percentiles(trained_rate - base_rate, trained_p - base_p, 100.0),
        trained_only=trained_only,
        base_only=base_only,
        mcnemar_p=p_value,
    )
