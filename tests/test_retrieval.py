"""The retrieval search (deepeyes_core.retrieval) gives brute force's answers, on both of its
branches: queries settled by their candidates, and queries left to the dense search."""

from __future__ import annotations

import random

import numpy as np
import pytest

from deepeyes_core import retrieval
from deepeyes_core.leakage import jaccard


def brute(queries, pool):
    """(index, Jaccard) of the first most similar pool set; (-1, None) for an empty pool."""
    found = []
    for query in queries:
        best = (-1, None)
        for j, candidate in enumerate(pool):
            similarity = jaccard(query, candidate)
            if best[1] is None or similarity > best[1]:
                best = (j, similarity)
        found.append(best)
    return found


@pytest.fixture
def branches(monkeypatch):
    """How many queries the candidate passes settled, how many passes ran, how many went dense."""
    seen = {"settled": 0, "passes": 0, "dense": 0}
    settle, dense = retrieval._settle, retrieval._dense

    def counted_settle(queries, pool, df, rare, todo, *rest):
        left = settle(queries, pool, df, rare, todo, *rest)
        seen["settled"] += len(todo) - len(left)
        seen["passes"] += 1
        return left

    def counted_dense(queries, pool, rows, *rest):
        seen["dense"] += len(rows)
        dense(queries, pool, rows, *rest)

    monkeypatch.setattr(retrieval, "_settle", counted_settle)
    monkeypatch.setattr(retrieval, "_dense", counted_dense)
    return seen


def found(queries, pool, rare_df=None):
    index, similarity = retrieval.most_similar(queries, pool, rare_df)
    return [(int(i), float(s)) if i >= 0 else (-1, None) for i, s in zip(index, similarity)]


def test_random_small_sets_match_brute_force_on_both_branches(branches):
    rng = random.Random(5)
    for trial in range(400):
        vocabulary = rng.randint(1, 10)  # tiny: many ties, many shared tokens

        def draw(vocabulary: int = vocabulary) -> frozenset[str]:
            return frozenset(f"t{rng.randrange(vocabulary + 2)}" for _ in range(rng.randint(0, 5)))

        pool = [draw() for _ in range(rng.randint(0, 14))]
        queries = [draw() for _ in range(rng.randint(1, 8))]
        rare_df = rng.choice([None, 0, 1, 2, 4])
        assert found(queries, pool, rare_df) == brute(queries, pool), (trial, rare_df)
    assert branches["settled"] > 100 and branches["dense"] > 100


@pytest.mark.parametrize("share", [retrieval._CANDIDATE_SHARE, 0.01])
def test_template_texts_settle_mostly_and_match_brute_force(branches, monkeypatch, share):
    """Texts as the bench logs make them: a tool, a key and a limit per call, one to three calls.
    With a small first budget, ``D`` starts low and the cascade runs several passes."""
    monkeypatch.setattr(retrieval, "_CANDIDATE_SHARE", share)
    rng = random.Random(11)
    tools = ["search web", "send email", "file read", "cache get", "s3 upload"]

    def text():
        calls = [f"use the {rng.choice(tools)} tool with key k{rng.randrange(60)} and limit {rng.randrange(20)}"
                 for _ in range(rng.choice([1, 1, 2, 3]))]
        words = " then ".join(calls).split()
        return frozenset(" ".join(words[i:i + 3]) for i in range(len(words) - 2))

    pool = [text() for _ in range(400)]
    queries = [text() for _ in range(80)] + pool[:5] + [frozenset(), frozenset({"unknown"})]
    assert found(queries, pool) == brute(queries, pool)
    assert branches["settled"] > 0.8 * len(queries) and branches["settled"] + branches["dense"] == len(queries)
    assert branches["passes"] == 1 if share > 0.1 else branches["passes"] > 1, branches


def test_empty_pool_and_empty_sets():
    assert found([{"a"}], []) == [(-1, None)]
    assert found([set(), {"a"}], [{"b"}, set(), {"a", "b"}]) == [(1, 1.0), (2, 0.5)]
    assert found([{"z"}], [{"a"}, {"b"}]) == [(0, 0.0)]  # nothing shared: the first, at 0
    index, similarity = retrieval.most_similar([], [{"a"}])
    assert index.shape == similarity.shape == (0,) and np.issubdtype(index.dtype, np.integer)


def _many_common_tokens():
    """100 pool sets holding 64 tokens each (df 100), three of ten mid tokens each (df 30) and, in
    31 of them, one more (``c64``, df 31); 10 queries, each with one mid token and the 64, the first
    also with ``c64``. At D = 30 (the first budget's level) 65 tokens are common: two bitmask words."""
    common = [f"c{i}" for i in range(64)]
    pool = [frozenset(common + [f"r{(i + k) % 10}" for k in (0, 1, 3)] + (["c64"] if i < 31 else []))
            for i in range(100)]
    queries = [frozenset(common + [f"r{q}", f"q{q}"] + (["c64"] if q == 0 else [])) for q in range(10)]
    return queries, pool


def test_two_bitmask_words_match_brute_force(monkeypatch):
    queries, pool = _many_common_tokens()
    words = []
    masks = retrieval._masks
    monkeypatch.setattr(retrieval, "_masks", lambda sets, *rest: words.append(rest[-1]) or masks(sets, *rest))
    assert found(queries, pool, rare_df=30) == brute(queries, pool)
    assert words == [2, 2]


def test_d_is_raised_where_a_bitmask_word_saved_pays_for_the_extra_candidates():
    """At D = 30 the candidate work is 300 (0.3 x 10 x 100) at two words; D = 31 makes ``c64`` rare
    for 31 more candidates (331) at one word, the cheaper of the two."""
    queries, pool = _many_common_tokens()
    vocabulary: dict[str, int] = {}
    pool_sets = retrieval._Sets(pool, vocabulary, grow=True)
    query_sets = retrieval._Sets(queries, vocabulary, grow=False)
    df = np.bincount(pool_sets.indices, minlength=len(vocabulary))
    assert retrieval._rare_df(df, query_sets, len(pool_sets)) == 31
    assert found(queries, pool) == brute(queries, pool)
