"""Splitting, balancing, export and the guide's statistics shape."""

from __future__ import annotations

import asyncio
import json

import attrs
import pytest

from deepeyes_core import DatasetError, SFTDataset, ToolSpec, TrainingExample, checked_records

TOOLS = [f"tool_{i}" for i in range(6)]


def make_examples(n: int) -> list[TrainingExample]:
    examples = []
    for i in range(n):
        length = 1 + i % 5
        tools = tuple(TOOLS[(i + k) % len(TOOLS)] for k in range(length))
        examples.append(TrainingExample(
            task_id=f"task_{i:04d}", task_description=f"do thing {i}", tool_sequence=tools,
            tool_parameters=tuple({"n": i} for _ in tools),
            difficulty="easy" if length == 1 else "medium" if length <= 3 else "hard",
            agent=f"agent{i % 3}", tools=tuple(ToolSpec(t) for t in TOOLS),
        ))
    return examples


def run(coro):
    return asyncio.run(coro)


def test_ratios_must_sum_to_one(plugins):
    with pytest.raises(DatasetError, match=r"must sum to 1, got 0.7 \+ 0.2 \+ 0.2 = 1.1"):
        SFTDataset(make_examples(10), 0.7, 0.2, 0.2)


def test_too_few_examples_for_the_splits_is_a_clear_error(plugins):
    with pytest.raises(DatasetError, match="5 examples cannot fill train/val/test at 0.7/0.15/0.15: need at least 7"):
        run(SFTDataset(make_examples(5)).split_data())


def test_stratified_split_is_exact_deterministic_and_proportional_per_difficulty(plugins):
    examples = make_examples(400)
    splits = run(SFTDataset(examples).split_data())
    again = run(SFTDataset(list(reversed(examples))).split_data())
    assert {k: [e.task_id for e in v] for k, v in splits.items()} == {k: [e.task_id for e in v] for k, v in again.items()}
    ids = [e.task_id for v in splits.values() for e in v]
    assert sorted(ids) == sorted(e.task_id for e in examples)
    assert {k: len(v) for k, v in splits.items()} == {"train": 280, "val": 60, "test": 60}
    for level in ("easy", "medium", "hard"):
        total = sum(e.difficulty == level for e in examples)
        in_test = sum(e.difficulty == level for e in splits["test"])
        assert abs(in_test - 0.15 * total) <= 1.5
    other_seed = run(SFTDataset(examples, random_seed=7).split_data())
    assert [e.task_id for e in other_seed["test"]] != [e.task_id for e in splits["test"]]


def test_balance_swaps_missing_tools_into_val_and_test(plugins):
    examples = make_examples(100)
    rare = [TrainingExample(task_id=f"rare_{i}", task_description="rare", tool_sequence=("rare_tool",),
                            tool_parameters=({"i": i},), difficulty="easy") for i in range(3)]
    dataset = SFTDataset(examples + rare)
    splits = run(dataset.split_data())
    sizes = {k: len(v) for k, v in splits.items()}
    report = dataset.balance_dataset()
    assert report["missing_tools"] == {"train": [], "val": [], "test": []}
    assert {k: len(v) for k, v in dataset.splits.items()} == sizes


def test_exports_and_stats_in_the_guides_shape(tmp_path, plugins):
    dataset = SFTDataset(make_examples(100), output_dir=tmp_path)
    files = run(dataset.export_all_splits())
    assert {k: p.name for k, p in files.items()} == {"train": "sft_train.jsonl", "val": "sft_val.jsonl", "test": "sft_test.jsonl"}
    rows = [json.loads(line) for line in files["train"].read_text().splitlines()]
    assert len(rows) == len(dataset.splits["train"])
    assert set(rows[0]) == {"task_id", "prompt", "completion", "metadata"}
    assert not list(tmp_path.glob(".*.tmp"))
    stats = run(dataset.get_dataset_stats())
    assert stats["total_examples"] == 100
    guide_keys = {"count", "success_rate_pct", "avg_sequence_length", "max_sequence_length", "min_sequence_length", "unique_tools", "top_tools"}
    for split in ("train", "val", "test"):
        assert guide_keys <= set(stats[split])
    assert stats["train"]["count"] + stats["val"]["count"] + stats["test"]["count"] == 100
    assert stats["train"]["max_sequence_length"] == 5 and stats["train"]["min_sequence_length"] == 1
    assert stats["train"]["unique_tools"] == 6


class _PickyExporter:
    """A record exporter whose format refuses prompts that mention "bad"."""

    name = "picky"

    def record(self, example, prompt_layout):
        return {"id": example.task_id, "prompt": example.prompt(prompt_layout)}

    def check(self, record):
        return ["prompt mentions bad"] if "bad" in record["prompt"] else []


def test_checked_records_goes_split_by_split_and_refuses_with_the_example_split_and_rule():
    examples = make_examples(4)
    exporter = _PickyExporter()
    splits = {"extra": examples[3:], "test": examples[2:3], "train": examples[:1], "val": examples[1:2]}
    checked = checked_records(exporter, splits, "task")
    assert list(checked) == ["train", "val", "test", "extra"]
    assert [[record["id"] for _, record in rows] for rows in checked.values()] == [
        ["task_0000"], ["task_0001"], ["task_0002"], ["task_0003"]
    ]
    assert all(example.task_id == record["id"] for rows in checked.values() for example, record in rows)

    bad = attrs.evolve(examples[1], task_description="a bad task")
    with pytest.raises(DatasetError, match=r"picky: example 'task_0001' \(split 'val'\) breaks a rule of the "
                                           r"format: prompt mentions bad"):
        checked_records(exporter, {"train": examples[:1], "val": [bad]}, "task")
    broken = attrs.evolve(examples[0], difficulty="extreme")
    with pytest.raises(DatasetError, match=r"'task_0000' \(split 'train'\).*difficulty 'extreme'"):
        checked_records(exporter, {"train": [broken]}, "task")


def test_examples_making_the_same_calls_share_one_split(plugins):
    """Dedup keeps paraphrases (same calls, other requests or results); the split keeps them together."""
    examples = make_examples(60)
    twins = [attrs.evolve(e, task_id=e.task_id + "_twin", user_request=f"please {e.task_description}") for e in examples[:20]]
    dataset = SFTDataset(examples + twins)
    splits = run(dataset.split_data())
    dataset.balance_dataset()
    where = {e.task_id: name for name, members in dataset.splits.items() for e in members}
    assert all(where[e.task_id] == where[e.task_id + "_twin"] for e in examples[:20])
    assert sum(map(len, splits.values())) == 80
