"""The ``group`` and ``hash`` splitters and the cross-split leakage count (issue 3)."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from unittest import mock

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepeyes_core import SPLITS, ConfigError, DatasetError, PluginManager, SFTDataset, SplitRatios, TrainingExample
from deepeyes_core import leakage
from deepeyes_core.dedup import normalise_arguments
from deepeyes_core.leakage import cross_split_near_duplicates, jaccard, signature
from deepeyes_core.plugins import BUILTIN_PLUGINS

PLUGINS = BUILTIN_PLUGINS + ("deepeyes_builtin.group_splitter",)


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    return PluginManager(load_entry_points=False, builtins=PLUGINS)


def ex(
    task_id: str,
    agent: str = "A",
    session: str | None = "s1",
    query: str = "weather in paris",
    source: str = "baseline",
    tool: str = "search",
    description: str | None = None,
) -> TrainingExample:
    return TrainingExample(
        task_id=task_id,
        task_description=description if description is not None else f'Use the {tool} tool with query "{query}".',
        tool_sequence=(tool,),
        tool_parameters=({"query": query},),
        agent=agent,
        session_id=session,
        source=source,
    )


def sessions_of(splits) -> dict[tuple[str, str | None], set[str]]:
    where = defaultdict(set)
    for name, examples in splits.items():
        for e in examples:
            where[(e.agent, e.session_id)].add(name)
    return where


def test_registered_with_options(manager):
    assert {"group", "hash", "stratified"} <= set(manager.components("splitter"))
    assert manager.get("splitter", "group").option_defaults() == {"key": "session"}
    assert manager.build("splitter", "hash", {"key": "metadata:source"}).options.key == "metadata:source"
    with pytest.raises(ConfigError, match=r"splitter 'group'.*options"):
        manager.build("splitter", "group", {"key": "user"})


_ratios = st.sampled_from([(0.7, 0.15, 0.15), (0.8, 0.1, 0.1), (0.5, 0.5, 0.0), (1.0, 0.0, 0.0), (0.34, 0.33, 0.33)])
_groups = st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 30), st.integers(1, 4)), min_size=1, max_size=40)


def _examples(groups) -> list[TrainingExample]:
    out, n = [], itertools.count()
    for agent, session, size in groups:
        for _ in range(size):
            out.append(ex(f"task_{next(n):05d}", agent, None if session == 0 else f"s{session}", query=f"q{session}"))
    return out


@pytest.mark.parametrize("name", ["group", "hash"])
@settings(max_examples=80, deadline=None)
@given(groups=_groups, ratios=_ratios, seed=st.integers(0, 2**16))
def test_no_session_in_two_splits(manager, name, groups, ratios, seed):
    examples = _examples(groups)
    splitter = manager.build("splitter", name)
    split_ratios = SplitRatios(*ratios, seed=seed)
    splits = splitter.split(examples, split_ratios)
    assert set(splits) == set(SPLITS)
    placed = sorted(e.task_id for part in splits.values() for e in part)
    assert placed == sorted(e.task_id for e in examples)  # every example exactly once
    for (agent, session), names in sessions_of(splits).items():
        if session is not None:
            assert len(names) == 1, (agent, session, names)
    for share, part in zip(ratios, (splits["train"], splits["val"], splits["test"]), strict=True):
        if share == 0:
            assert part == []
    # Deterministic for a seed, and blind to the input order.
    again = splitter.split(list(reversed(examples)), split_ratios)
    members = {name: {e.task_id for e in part} for name, part in splits.items()}
    assert {name: {e.task_id for e in part} for name, part in again.items()} == members


@settings(max_examples=30, deadline=None)
@given(groups=_groups, seed=st.integers(0, 2**16))
def test_agent_key_keeps_each_agent_in_one_split(manager, groups, seed):
    splits = manager.build("splitter", "group", {"key": "agent"}).split(_examples(groups), SplitRatios(seed=seed))
    where = defaultdict(set)
    for name, examples in splits.items():
        for e in examples:
            where[e.agent].add(name)
    assert all(len(names) == 1 for names in where.values())


def test_group_ratios_come_out_close(manager):
    rng = random.Random(7)
    examples = _examples([(rng.choice("ABC"), s, rng.randint(1, 3)) for s in range(1, 1001)])
    splits = manager.build("splitter", "group").split(examples, SplitRatios(0.7, 0.15, 0.15, seed=3))
    for name, share in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
        assert abs(len(splits[name]) - share * len(examples)) <= 3  # within one group
    other_seed = manager.build("splitter", "group").split(examples, SplitRatios(0.7, 0.15, 0.15, seed=4))
    assert {e.task_id for e in other_seed["test"]} != {e.task_id for e in splits["test"]}


def test_hash_splitter_streams(manager):
    splitter = manager.build("splitter", "hash")
    examples = _examples([("A", s, 1) for s in range(1, 5001)])
    ratios = SplitRatios(seed=11)
    splits = splitter.split(examples, ratios)
    for name, share in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
        assert abs(len(splits[name]) / len(examples) - share) < 0.03
    # An example's split depends on its key and the seed only, not on the other examples.
    alone = {e.task_id: splitter.assign(e, ratios) for e in examples[:50]}
    assert alone == {e.task_id: name for name, part in splits.items() for e in part if e.task_id in alone}
    assert any(splitter.assign(e, SplitRatios(seed=12)) != alone[e.task_id] for e in examples[:50])


def test_metadata_key(manager):
    examples = [ex(f"t{i}", session=f"s{i}", source=("otel" if i % 2 else "baseline")) for i in range(40)]
    splits = manager.build("splitter", "group", {"key": "metadata:source"}).split(examples, SplitRatios())
    where = defaultdict(set)
    for name, part in splits.items():
        for e in part:
            where[e.source].add(name)
    assert all(len(names) == 1 for names in where.values())
    with pytest.raises(DatasetError, match="no metadata field 'user'.*fields: agent"):
        manager.build("splitter", "group", {"key": "metadata:user"}).split(examples, SplitRatios())


def test_group_splitter_in_sfdataset_keeps_groups_after_balancing(manager, tmp_path):
    import asyncio

    examples = _examples([(a, s, 2) for a in "AB" for s in range(1, 40)])
    dataset = SFTDataset(examples, splitter=manager.build("splitter", "group"), output_dir=tmp_path)

    async def run():
        await dataset.split_data()
        return dataset.balance_dataset()

    report = asyncio.run(run())
    assert report["swaps"] == 0  # no balance step that could split a group
    assert all(len(names) == 1 for names in sessions_of(dataset.splits).values())


# -- leakage -------------------------------------------------------------------------------------

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def _brute_force(splits, threshold=0.8) -> dict[str, int]:
    items = [(name, signature(e)) for name, part in splits.items() for e in part]
    out = {"train-val": 0, "train-test": 0, "val-test": 0}
    for (a, (bucket_a, fa)), (b, (bucket_b, fb)) in itertools.combinations(items, 2):
        if a != b and bucket_a == bucket_b and jaccard(fa, fb) >= threshold - 1e-9:
            key = f"{a}-{b}" if SPLITS.index(a) < SPLITS.index(b) else f"{b}-{a}"
            out[key] += 1
    out["total"] = sum(out.values())
    return out


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(SPLITS),
            st.sampled_from(["search", "fetch"]),
            st.lists(st.sampled_from(WORDS[:6]), min_size=1, max_size=7),
        ),
        max_size=30,
    ),
    st.sampled_from([0.5, 0.6, 0.8, 1.0]),
)
def test_leakage_count_is_exact(rows, threshold):
    splits = {name: [] for name in SPLITS}
    for i, (name, tool, words) in enumerate(rows):
        splits[name].append(ex(f"t{i}", tool=tool, query=" ".join(words), description=" ".join(words)))
    expected = _brute_force(splits, threshold)
    assert cross_split_near_duplicates(splits, threshold) == expected
    with mock.patch.object(leakage, "_ALL_PAIRS", 0):  # the index (PPJoin) that large buckets use
        assert cross_split_near_duplicates(splits, threshold) == expected


def _planted(n_sessions: int = 60) -> list[TrainingExample]:
    """Agent 'alpha' asks near-identical things in every session; the others ask distinct things."""
    examples = []
    for s in range(n_sessions):
        variant = ["weather in Paris today", "Weather in paris today?", "weather in Paris, today"][s % 3]
        examples.append(ex(f"a{s:03d}", "alpha", f"alpha-{s}", query=variant))
        rng = random.Random(s)
        distinct = " ".join(rng.sample(WORDS, 6)) + f" {s}"
        examples.append(ex(f"b{s:03d}", "beta", f"beta-{s}", query=distinct))
    return examples


def test_near_duplicate_definition():
    a = ex("1", query="weather in Paris today")
    b = ex("2", query="Weather in paris, today?")
    c = ex("3", query="flights from Paris to Rome")
    assert signature(a) == signature(b)
    assert jaccard(signature(a)[1], signature(c)[1]) < 0.8
    assert signature(a)[0] != signature(ex("4", tool="fetch"))[0]  # another tool: another bucket


def test_leakage_is_zero_when_groups_hold_the_near_duplicates(manager):
    examples = _planted()
    by_agent = manager.build("splitter", "group", {"key": "agent"}).split(examples, SplitRatios(0.5, 0.25, 0.25))
    assert cross_split_near_duplicates(by_agent) == {"train-val": 0, "train-test": 0, "val-test": 0, "total": 0}

    rng = random.Random(1)  # a random split of the same data leaks
    shuffled = examples[:]
    rng.shuffle(shuffled)
    cut1, cut2 = int(0.7 * len(shuffled)), int(0.85 * len(shuffled))
    random_split = {"train": shuffled[:cut1], "val": shuffled[cut1:cut2], "test": shuffled[cut2:]}
    leak = cross_split_near_duplicates(random_split)
    assert leak["total"] > 0 and leak["total"] == leak["train-val"] + leak["train-test"] + leak["val-test"]
    stratified = manager.build("splitter", "stratified").split(examples, SplitRatios())
    assert cross_split_near_duplicates(stratified)["total"] > 0


def test_leakage_is_zero_for_session_groups_when_duplicates_share_a_session(manager):
    examples = [
        ex(f"t{s}-{k}", "alpha", f"s{s}", query=f"report for customer {s} please" + ("?" if k else ""))
        for s in range(40) for k in range(3)
    ]
    splits = manager.build("splitter", "group").split(examples, SplitRatios())
    assert cross_split_near_duplicates(splits)["total"] == 0
    hashed = manager.build("splitter", "hash").split(examples, SplitRatios())
    assert cross_split_near_duplicates(hashed)["total"] == 0


def test_leakage_counts_identical_examples_by_arithmetic():
    same = [ex(f"t{i}") for i in range(5)]
    splits = {"train": same[:3], "val": same[3:4], "test": same[4:]}
    assert cross_split_near_duplicates(splits) == {"train-val": 3, "train-test": 3, "val-test": 1, "total": 7}


@given(st.text())
def test_words_are_what_the_word_pattern_finds(text):
    assert leakage._words(text) == leakage._WORD.findall(text)


def _reference_signature(example):
    """The definition written plainly (the first implementation), to check the fast one against."""
    shape, features = [], set()
    for i, params in enumerate(example.tool_parameters):
        leaves = list(leakage._leaves(normalise_arguments(params), ""))
        shape.append(tuple(sorted({path for path, _ in leaves})))
        for path, value in leaves:
            if isinstance(value, str):
                words = leakage._WORD.findall(value)
                features.update(f"{i}|{path}|{w}" for w in words) if words else features.add(f"{i}|{path}|{value}")
            else:
                features.add(f"{i}|{path}={orjson.dumps(value).decode()}")
    words = leakage._WORD.findall(example.task_description.casefold())
    features.update(["d|" + " ".join(words)] if len(words) < 3 else map("d|{} {} {}".format, words, words[1:], words[2:]))
    return (example.tool_sequence, tuple(shape)), frozenset(features)


_ARGUMENT = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(), st.text(max_size=12),
                      st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.text(max_size=5), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), _ARGUMENT, max_size=4), min_size=1, max_size=3),
       st.text(max_size=40))
def test_signature_is_the_definition(calls, description):
    example = TrainingExample(task_id="t", task_description=description or "x", tool_sequence=("a",) * len(calls),
                              tool_parameters=tuple(calls))
    def outcome(function):
        try:
            return function(example)
        except TypeError as exc:  # an integer orjson cannot write: refused alike
            return repr(exc)

    assert outcome(signature) == outcome(_reference_signature)
