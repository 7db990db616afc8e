"""The guide's three usage examples, run as written (imports changed to deepeyes_core).

Two honest departures, both where the guide prints a number that would be invented otherwise:
the dry-run backend trains nothing, so improvement prints "not measured"; and Example 2 loads the
shipped sample log where the guide says "in practice, would read from stored data".
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from .conftest import SAMPLE_LOG


def pct(value) -> str:
    return "not measured" if value is None else f"{value:.1f}%"


def test_example_1_simple_integration(tmp_path, monkeypatch, capsys, plugins):
    monkeypatch.chdir(tmp_path)
    from deepeyes_core import BaselineTracker, ColdStartTrainer, ToolInvocation, ToolStatus

    async def main():
        tracker = BaselineTracker(output_dir=Path("logs/deepeyesv2"))
        for i in range(100):
            inv = ToolInvocation(
                tool_name="database_query",
                agent_name="Agent1",
                parameters={"query": f"SELECT * FROM table_{i}"},
                result={"rows": i},
                status=ToolStatus.SUCCESS if i % 10 != 0 else ToolStatus.FAILURE,
                latency_ms=50.0 + i,
            )
            tracker.record_invocation(inv)

        trainer = ColdStartTrainer(output_dir=Path("logs/sft"))
        dataset = await trainer.prepare_training_data(tracker)
        training_results = await trainer.train_model(epochs=3)
        evaluation = await trainer.evaluate_improvement()

        print(f"Status: {trainer.status}")
        print(f"Improvement: {pct(evaluation['improvement_pct'])}")
        print(f"Ready for RL: {evaluation['readiness_for_rl']}")
        return dataset, training_results

    dataset, training_results = asyncio.run(main())
    out = capsys.readouterr().out
    # 100 calls of one agent without session ids: cut into 20 sessions of 5; the 10 holding a
    # failure fall below the 0.90 threshold; 10 examples < min_examples=100.
    assert len(dataset.training_examples) == 10
    assert "Status: insufficient_data" in out
    assert "Improvement: not measured" in out and "Ready for RL: False" in out
    assert training_results["trained"] is False and "min_examples" in training_results["reason"]
    assert (tmp_path / "logs/deepeyesv2/invocations.jsonl").read_text().count("\n") == 100
    rejects = (tmp_path / "logs/sft/rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 10 and all("below quality threshold" in r for r in rejects)


def test_example_2_full_pipeline(tmp_path, monkeypatch, capsys, plugins):
    monkeypatch.chdir(tmp_path)
    from deepeyes_core import BaselineTracker, run_deepeyesv2_sft

    async def main():
        tracker = BaselineTracker.load(SAMPLE_LOG)
        results = await run_deepeyesv2_sft(
            baseline_tracker=tracker,
            quality_threshold=0.90,
            output_dir=Path("logs/deepeyesv2/sft"),
        )
        print(f"Status: {results['status']}")
        print(f"Training Examples: {results['training_examples_count']}")
        print(f"Improvement: {pct(results['evaluation']['improvement_pct'])}")
        print(f"Report: {results['report_file']}")
        return results

    results = asyncio.run(main())
    out = capsys.readouterr().out
    count = int(re.search(r"Training Examples: (\d+)", out).group(1))
    assert count >= 100 and count == results["training_examples_count"]
    assert "Status: completed" in out and "Improvement: not measured" in out
    report = Path(re.search(r"Report: (\S+)", out).group(1))
    assert re.fullmatch(r"training_report_\d{8}_\d{6}\.json", report.name) and report.exists()
    sft = tmp_path / "logs/deepeyesv2/sft"
    for name in ("sft_train.jsonl", "sft_val.jsonl", "sft_test.jsonl", "dataset_stats.json", "rejects.jsonl"):
        assert (sft / name).exists(), name


def test_example_3_manual_control(tmp_path, monkeypatch, capsys, plugins):
    monkeypatch.chdir(tmp_path)
    from deepeyes_core import BaselineTracker, SFTDataset, TrajectoryCollector

    async def main():
        tracker = BaselineTracker.load(SAMPLE_LOG)

        collector = TrajectoryCollector(quality_threshold=0.95)
        trajectories = await collector.collect_trajectories(tracker)
        filtered = await collector.filter_quality()
        examples = await collector.generate_training_examples()

        print(f"Collected: {len(trajectories)}")
        print(f"Filtered: {len(filtered)}")
        print(f"Generated: {len(examples)} training examples")

        dataset = SFTDataset(training_examples=examples, train_ratio=0.70, val_ratio=0.15, test_ratio=0.15)
        splits = await dataset.split_data()
        stats = await dataset.get_dataset_stats()
        print(f"Train: {stats['train']['count']}")
        print(f"Val: {stats['val']['count']}")
        print(f"Test: {stats['test']['count']}")

        files = await dataset.export_all_splits()
        for split, path in files.items():
            print(f"Exported {split}: {path}")
        return trajectories, filtered, examples, splits

    trajectories, filtered, examples, splits = asyncio.run(main())
    out = capsys.readouterr().out
    numbers = {k: int(v) for k, v in re.findall(r"^(\w+): (\d+)", out, re.M)}
    assert numbers["Collected"] == len(trajectories) > numbers["Filtered"] == len(filtered) >= numbers["Generated"] > 0
    assert numbers["Train"] + numbers["Val"] + numbers["Test"] == len(examples)
    # The splitter places groups of examples that make the same calls whole, so the ratio holds to 1%.
    assert abs(numbers["Train"] - 0.70 * len(examples)) <= 0.01 * len(examples)
    for split in ("train", "val", "test"):
        path = Path(re.search(rf"Exported {split}: (\S+)", out).group(1))
        assert path.read_text().count("\n") == numbers[split.capitalize()]
