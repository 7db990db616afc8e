"""How close each held-out example is to the train split, and the two controls built from train.

- **Contamination**: for each val/test example, its nearest train example under the leakage
  definition (:mod:`deepeyes_core.leakage`: same tool sequence and argument names, then Jaccard
  over argument-value words and task-description shingles) and that similarity, where it is at
  or above the near-duplicate threshold: such an example is a *near-duplicate* of train; the
  others are *clean* (their nearest train example is not searched for: the exact similarity join
  of :mod:`deepeyes_core.leakage` finds every pair at the threshold without comparing all pairs,
  where a nearest neighbour at any similarity would cost |held out| x |train| comparisons). Scores
  are reported on all, clean and near-duplicate test examples, so a gain made of memorised
  near-copies shows.
- **Retrieval control**: answer each test task with the calls of the train example whose task
  description is most similar (Jaccard over the task's word 3-shingles). Only the task text is
  compared: the rest of the leakage definition is made from the calls, which is the answer.
- **Majority control**: the most frequent trajectory of train (its steps' calls, arguments
  included) among those that start with the first train tool the task text names, else the most
  frequent overall.

The retrieval control's neighbours are exact (ties go to the earliest train example), found
without comparing every pair where task texts have rare shingles: :mod:`deepeyes_core.retrieval`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson

from .leakage import (
    THRESHOLD,
    CrossSplitPairs,
    example_bucket,
    example_features,
    jaccard,
    similar_pairs,
    task_features,
)
from .records import TrainingExample


@attrs.frozen(slots=True)
class Nearest:
    """The train example most similar to a held-out one (``train_index`` into the train split) and
    their Jaccard similarity; both None where no train example is that similar (below the
    threshold a search was run at, or no train example to compare)."""

    train_index: int | None
    similarity: float | None

    def at_least(self, threshold: float) -> bool:
        return self.similarity is not None and self.similarity >= threshold


def nearest_train(
    train: Sequence[TrainingExample], held_out: Sequence[TrainingExample], threshold: float = THRESHOLD
) -> list[Nearest]:
    """Each held-out example's nearest train example under the leakage definition, where it is at
    least ``threshold`` similar (else ``Nearest(None, None)``); ties go to the earliest train example.
    The contamination half of :func:`measure_overlap`, with ``held_out`` as the test split."""
    return measure_overlap({"train": train, "val": (), "test": held_out}, threshold)[0]


def measure_overlap(
    splits: Mapping[str, Sequence[TrainingExample]], threshold: float = THRESHOLD, decontaminate: bool = False
) -> tuple[list[Nearest], dict[str, int]]:
    """:func:`nearest_train` of val then test (one list, in that order) and
    :func:`~deepeyes_core.leakage.cross_split_near_duplicates` of ``splits`` (train, val, test), in
    one pass: one tool sequence at a time, each example's features and each bucket's similar pairs
    made once for both. With ``decontaminate``, leakage is counted without the val/test examples
    that are near-duplicates of train (those the caller removes)."""
    names = list(splits)
    val = splits["val"]
    held_out = [*val, *splits["test"]]
    train_at, val_at, test_at = names.index("train"), names.index("val"), names.index("test")
    offset = {val_at: 0, test_at: len(val)}
    found = [Nearest(None, None)] * len(held_out)
    leakage = CrossSplitPairs(names, threshold)
    by_tools: dict[tuple[str, ...], list[tuple[int, TrainingExample, int]]] = defaultdict(list)
    for where, name in enumerate(names):
        for index, example in enumerate(splits[name]):
            by_tools[example.tool_sequence].append((where, example, index))
    for group in by_tools.values():
        buckets: dict[tuple[Any, ...], list[tuple[int, TrainingExample, int]]] = defaultdict(list)
        for member in group:
            buckets[example_bucket(member[1])].append(member)
        for members in buckets.values():
            home = members[0][0]
            if all(where == home for where, _, _ in members):
                continue  # no pair crosses splits, none joins train and held-out
            # distinct feature set -> (its train indices, its held-out positions, examples per split)
            sets: dict[frozenset[str], tuple[list[int], list[int], list[int]]] = {}
            for where, example, index in members:
                made = example_features(example)
                entry = sets.get(made)
                if entry is None:
                    entry = sets[made] = ([], [], [0] * len(names))
                entry[2][where] += 1
                if where == train_at:
                    entry[0].append(index)
                elif where in offset:
                    entry[1].append(offset[where] + index)
            keys, entries = list(sets), list(sets.values())
            similar: list[tuple[int, int]] = []
            if len(keys) > 1:
                at = {key: k for k, key in enumerate(keys)}
                similar = [(at[x], at[y]) for x, y in similar_pairs(keys, threshold, [e[2] for e in entries])]
            _offer_nearest(keys, [(e[0], e[1]) for e in entries], similar, found)
            if decontaminate:
                for _, positions, counts in entries:
                    for position in positions:
                        if found[position].at_least(threshold):
                            counts[val_at if position < len(val) else test_at] -= 1
            leakage.count([e[2] for e in entries], similar)
    return found, leakage.totals()


def _offer_nearest(keys: list[frozenset[str]], sides: list[tuple[list[int], list[int]]],
                   similar: list[tuple[int, int]], found: list[Nearest]) -> None:
    """Within one bucket: ``keys``, its distinct feature sets; ``sides``, each set's train indices
    and held-out positions; ``similar``, the pairs of sets at the threshold. Each held-out position
    in ``found`` gets the most similar train example (the earliest of equals)."""

    def offer(train_indices: list[int], held_out_indices: list[int], similarity: float) -> None:
        first = min(train_indices)
        for position in held_out_indices:
            best = found[position]
            if best.similarity is None or similarity > best.similarity or (
                    similarity == best.similarity and first < best.train_index):
                found[position] = Nearest(first, similarity)

    for trains, held in sides:  # identical features: similarity 1
        if trains and held:
            offer(trains, held, 1.0)
    for k, other in similar:
        similarity = jaccard(keys[k], keys[other])
        for a, b in ((k, other), (other, k)):
            if sides[a][0] and sides[b][1]:
                offer(sides[a][0], sides[b][1], similarity)


def retrieve_by_task(train: Sequence[TrainingExample], held_out: Sequence[TrainingExample]) -> list[Nearest]:
    """Each held-out example's train example with the most similar task description."""
    from .retrieval import most_similar  # numpy and scipy: only when a run evaluates

    index, similarity = most_similar((task_features(e) for e in held_out), (task_features(e) for e in train))
    if not train:
        return [Nearest(None, None)] * len(index)
    return [Nearest(i, s) for i, s in zip(index.tolist(), similarity.tolist())]


def _trajectory_key(example: TrainingExample) -> str:
    """The trajectory's calls as canonical JSON. A str, not orjson's bytes: each bytes object orjson
    returns keeps a 4 KiB buffer (orjson 3.13; measured), 112 MB for 28,784 keys kept at once."""
    steps = [[(c.name, c.arguments) for c in step.calls] for step in example.steps] if example.steps else [
        [(c.name, c.arguments)] for c in example.calls]
    return orjson.dumps(steps, option=orjson.OPT_SORT_KEYS).decode()


def majority_answers(train: Sequence[TrainingExample], held_out: Sequence[TrainingExample]) -> list[int | None]:
    """For each held-out example, the index of a train example holding the majority control's
    answer (see the module docstring); None when train is empty."""
    if not train:
        return [None] * len(held_out)
    counts: Counter[str] = Counter()
    first_of: dict[str, int] = {}
    by_first_tool: dict[str, Counter[str]] = defaultdict(Counter)
    for index, example in enumerate(train):
        key = _trajectory_key(example)
        counts[key] += 1
        first_of.setdefault(key, index)
        by_first_tool[example.tool_sequence[0]][key] += 1
    overall = first_of[counts.most_common(1)[0][0]]  # most_common keeps first-seen order on ties
    tool_pattern = re.compile(
        r"(?<![\w.\-])(" + "|".join(map(re.escape, sorted(by_first_tool, key=len, reverse=True))) + r")(?![\w\-])")
    answers = []
    for example in held_out:
        named = tool_pattern.search(example.task_description)
        if named is None:
            answers.append(overall)
        else:
            answers.append(first_of[by_first_tool[named.group(1)].most_common(1)[0][0]])
    return answers
