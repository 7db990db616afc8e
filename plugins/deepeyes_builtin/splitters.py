"""The ``stratified`` splitter: by difficulty (and first tool), deterministic for a seed, with tools
balanced across splits."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence

import attrs

from deepeyes_core import SPLITS, SplitRatios, TrainingExample


def apportion(ordered: Sequence[TrainingExample], ratios: SplitRatios) -> dict[str, list[TrainingExample]]:
    """Deal examples, in order, to the split furthest below its share so far (sequential
    largest-remainder): every prefix, and so every contiguous stratum, is split near the ratios."""
    shares = {"train": ratios.train, "val": ratios.val, "test": ratios.test}
    out: dict[str, list[TrainingExample]] = {name: [] for name in SPLITS}
    for i, example in enumerate(ordered, 1):
        name = max(SPLITS, key=lambda s: shares[s] * i - len(out[s]))
        out[name].append(example)
    return out


class StratifiedSplitter:
    """Stratified by difficulty, then by first tool, 70/15/15 by default; tools balanced."""

    name = "stratified"

    @attrs.frozen
    class Options:
        #: Also stratify by the first tool of each sequence, so tools spread over the splits.
        by_first_tool: bool = True
        #: A tool seen in at least this many examples is swapped into any split that lacks it.
        balance_min_examples: int = 3

    def __init__(self, options: Options):
        self.options = options

    def split(self, examples: Sequence[TrainingExample], ratios: SplitRatios) -> dict[str, list[TrainingExample]]:
        strata: dict[tuple[str, str], list[TrainingExample]] = defaultdict(list)
        for example in sorted(examples, key=lambda e: e.task_id):
            first = example.tool_sequence[0] if self.options.by_first_tool and example.tool_sequence else ""
            strata[(example.difficulty, first)].append(example)
        rng = random.Random(ratios.seed)
        ordered: list[TrainingExample] = []
        for key in sorted(strata):
            stratum = strata[key]
            rng.shuffle(stratum)
            ordered.extend(stratum)
        return apportion(ordered, ratios)

    def balance(self, splits: dict[str, list[TrainingExample]]) -> tuple[dict[str, list[TrainingExample]], int]:
        """Swap examples of equal difficulty between train and the other splits until every tool
        with enough examples appears in every split. Split sizes and difficulty mix do not change."""
        totals = Counter(t for examples in splits.values() for e in examples for t in set(e.tool_sequence))
        swaps = 0
        for target in ("val", "test"):
            if not splits[target]:
                continue
            for tool in sorted(t for t, n in totals.items() if n >= self.options.balance_min_examples):
                present = Counter(t for e in splits[target] for t in set(e.tool_sequence))
                if present[tool]:
                    continue
                train_counts = Counter(t for e in splits["train"] for t in set(e.tool_sequence))
                swap = self._find_swap(splits["train"], splits[target], tool, train_counts, present)
                if swap is None:
                    continue
                i, j = swap
                splits["train"][i], splits[target][j] = splits[target][j], splits["train"][i]
                swaps += 1
        return splits, swaps

    @staticmethod
    def _find_swap(train, target, tool, train_counts, target_counts):
        for i, giver in enumerate(train):
            if tool not in giver.tool_sequence or train_counts[tool] < 2:
                continue
            if any(train_counts[t] < 2 for t in set(giver.tool_sequence)):
                continue
            for j, taker in enumerate(target):
                if taker.difficulty == giver.difficulty and all(target_counts[t] >= 2 for t in set(taker.tool_sequence)):
                    return i, j
        return None
