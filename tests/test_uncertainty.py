"""Intervals and tests on paired outcomes, checked against analytic values."""

from __future__ import annotations

import math

import pytest

from deepeyes_core.uncertainty import accuracy_interval, compare


def test_the_bootstrap_interval_of_50_paired_wins_in_100_matches_the_analytic_one():
    base, trained = [False] * 100, [True] * 50 + [False] * 50
    result = compare(base, trained)
    # The gain per example is 1 or 0 with mean 0.5: standard error sqrt(0.25 / 100) = 0.05.
    half_width = 1.96 * 0.05 * 100
    assert result.gain_pts.estimate == pytest.approx(50.0)
    assert result.gain_pts.low == pytest.approx(50.0 - half_width, abs=1.5)
    assert result.gain_pts.high == pytest.approx(50.0 + half_width, abs=1.5)
    assert result.trained_only == 50 and result.base_only == 0 and result.significant
    assert result.summary().startswith("+50.0 pts (95% CI +4") and "p<0.001" in result.summary()


def test_one_accuracy_interval_matches_the_normal_approximation():
    interval = accuracy_interval([True] * 30 + [False] * 70)
    half_width = 1.96 * math.sqrt(0.3 * 0.7 / 100)
    assert interval.estimate == pytest.approx(0.3)
    assert interval.low == pytest.approx(0.3 - half_width, abs=0.015)
    assert interval.high == pytest.approx(0.3 + half_width, abs=0.015)


def test_mcnemar_on_a_hand_computed_table():
    # 8 examples only the trained model gets right, 2 only the base, 40 both, 50 neither.
    base = [False] * 8 + [True] * 2 + [True] * 40 + [False] * 50
    trained = [True] * 8 + [False] * 2 + [True] * 40 + [False] * 50
    result = compare(base, trained)
    # Two-sided exact: 2 * P(X >= 8), X ~ Binomial(10, 1/2) = 2 * (45 + 10 + 1) / 1024.
    assert result.mcnemar_p == pytest.approx(112 / 1024)
    assert result.gain_pts.estimate == pytest.approx(6.0)
    assert not result.significant and result.summary().endswith("not significant")


def test_no_difference_is_p_one_and_refuses_unpaired_outcomes():
    assert compare([True, False], [True, False]).mcnemar_p == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        compare([True], [True, False])
