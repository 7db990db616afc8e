"""A third-party deepeyes plugin: difficulty by how many argument values a model must get right."""

import attrs

from deepeyes_core import Trajectory, hookimpl


class ArgumentCountClassifier:
    """Easy up to ``easy_max`` argument values in the whole trajectory, hard from ``hard_min``."""

    name = "argument-count"

    @attrs.frozen
    class Options:
        easy_max: int = 2
        hard_min: int = 8

    def __init__(self, options: Options):
        self.options = options

    def classify(self, trajectory: Trajectory) -> str:
        values = sum(len(inv.parameters) for inv in trajectory.invocations)
        if values <= self.options.easy_max:
            return "easy"
        return "hard" if values >= self.options.hard_min else "medium"


@hookimpl
def deepeyes_difficulty_classifiers():
    return [ArgumentCountClassifier]
