"""measure_overlap: the contamination measure and the leakage count in one pass give what the two
functions give apart, with each example's features made once."""

from __future__ import annotations

import random
from collections import Counter

import attrs
import pytest

from deepeyes_core import contamination, leakage
from deepeyes_core.contamination import measure_overlap, nearest_train
from deepeyes_core.leakage import cross_split_near_duplicates
from tests.test_contamination import CITIES, trip


def _splits(seed: int) -> dict[str, list]:
    rng = random.Random(seed)
    pool = [trip(i, rng.choice(CITIES), rng.randint(1, 4), rng.choice(["weather", "forecast", "radar"]))
            for i in range(150)]
    pool += [attrs.evolve(e, task_id=f"copy{e.task_id}") for e in pool[:10]]  # identical features too
    rng.shuffle(pool)
    return {"train": pool[:100], "val": pool[100:130], "test": pool[130:]}


@pytest.mark.parametrize(("seed", "threshold"), [(1, 0.8), (2, 0.5)])
def test_one_pass_gives_what_the_two_measures_give(seed, threshold):
    splits = _splits(seed)
    found, leak = measure_overlap(splits, threshold)
    assert found == nearest_train(splits["train"], [*splits["val"], *splits["test"]], threshold)
    assert leak == cross_split_near_duplicates(splits, threshold)
    assert leak["total"] > 0 and any(n.at_least(threshold) for n in found)


def test_decontaminated_leakage_leaves_out_the_near_duplicates_of_train():
    splits = _splits(3)
    found, leak = measure_overlap(splits, 0.8, decontaminate=True)
    held_out = [*splits["val"], *splits["test"]]
    near = {id(e) for e, n in zip(held_out, found) if n.at_least(0.8)}
    assert near
    kept = {name: [e for e in examples if id(e) not in near] for name, examples in splits.items()}
    assert leak == cross_split_near_duplicates(kept, 0.8)
    assert leak != measure_overlap(splits, 0.8)[1]


def test_features_are_made_once_per_example(monkeypatch):
    made: Counter[int] = Counter()
    features = leakage.example_features

    def counted(example):
        made[id(example)] += 1
        return features(example)

    monkeypatch.setattr(contamination, "example_features", counted)
    measure_overlap(_splits(4))
    assert made and max(made.values()) == 1


def test_each_bucket_is_joined_once(monkeypatch):
    splits = _splits(5)
    expected = {}  # bucket -> (splits it is in, its distinct feature sets)
    for name, examples in splits.items():
        for example in examples:
            where, sets = expected.setdefault(leakage.example_bucket(example), (set(), set()))
            where.add(name)
            sets.add(leakage.example_features(example))
    calls = []
    join = contamination.similar_pairs

    def counted(sets, threshold, counts):
        calls.append(len(sets))
        return join(sets, threshold, counts)

    monkeypatch.setattr(contamination, "similar_pairs", counted)
    measure_overlap(splits)
    assert sorted(calls) == sorted(len(sets) for where, sets in expected.values() if len(where) > 1 and len(sets) > 1)
