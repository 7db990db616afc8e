"""Difficulty classifiers: by sequence length (the guide's), and by distinct tools."""

from __future__ import annotations

import attrs

from deepeyes_core import Trajectory


class SequenceLengthClassifier:
    """The guide's rule: 1 call easy, up to ``medium_max`` calls medium, more hard."""

    name = "sequence-length"

    @attrs.frozen
    class Options:
        medium_max: int = 3

    def __init__(self, options: Options):
        self.options = options

    def classify(self, trajectory: Trajectory) -> str:
        length = len(trajectory.invocations)
        return "easy" if length <= 1 else "medium" if length <= self.options.medium_max else "hard"


class DistinctToolsClassifier:
    """By how many different tools a trajectory uses: 1 easy, 2 medium, 3+ hard."""

    name = "distinct-tools"

    @attrs.frozen
    class Options:
        hard_from: int = 3

    def __init__(self, options: Options):
        self.options = options

    def classify(self, trajectory: Trajectory) -> str:
        distinct = len(set(trajectory.tool_sequence))
        return "easy" if distinct <= 1 else "medium" if distinct < self.options.hard_from else "hard"
