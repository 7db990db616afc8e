"""The ``stratified`` splitter: by difficulty (and first tool), deterministic for a seed, with tools
balanced across splits."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from operator import attrgetter

import attrs

from deepeyes_core import SPLITS, SplitRatios, TrainingExample


def apportion(ordered: Sequence[TrainingExample], ratios: SplitRatios) -> dict[str, list[TrainingExample]]:
    """Deal examples, in order, to the split furthest below its share so far (sequential
    largest-remainder): every prefix, and so every contiguous stratum, is split near the ratios.
    A tie goes to the split named first (train, val, test)."""
    train, val, test = out = ([], [], [])
    for i, example in enumerate(ordered, 1):
        need_train = ratios.train * i - len(train)
        need_val = ratios.val * i - len(val)
        need_test = ratios.test * i - len(test)
        if need_train >= need_val and need_train >= need_test:
            train.append(example)
        elif need_val >= need_test:
            val.append(example)
        else:
            test.append(example)
    return dict(zip(SPLITS, out))


_TASK_ID = attrgetter("task_id")


def _tool_counts(examples: Iterable[TrainingExample]) -> Counter[str]:
    """How many examples use each tool, counted once per distinct tool sequence."""
    sequences = Counter(example.tool_sequence for example in examples)
    counts: Counter[str] = Counter()
    for sequence, n in sequences.items():
        for tool in set(sequence):
            counts[tool] += n
    return counts


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
        for example in sorted(examples, key=_TASK_ID):
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
        totals = _tool_counts(e for examples in splits.values() for e in examples)
        swaps = 0
        for target in ("val", "test"):
            if not splits[target]:
                continue
            present = None  # the tool counts of the target split, made again after each swap
            for tool in sorted(t for t, n in totals.items() if n >= self.options.balance_min_examples):
                if present is None:
                    present = _tool_counts(splits[target])
                if present[tool]:
                    continue
                train_counts = _tool_counts(splits["train"])
                swap = self._find_swap(splits["train"], splits[target], tool, train_counts, present)
                if swap is None:
                    continue
                i, j = swap
                splits["train"][i], splits[target][j] = splits[target][j], splits["train"][i]
                swaps += 1
                present = None
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
