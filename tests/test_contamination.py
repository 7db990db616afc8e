"""Contamination-aware scoring: nearest train examples, the clean and near-duplicate sets, the
retrieval and majority controls, the headline set, readiness against the retrieval control, and
``decontaminate`` in a real run."""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import random
import re
from pathlib import Path

import attrs
import pytest

from deepeyes_core.contamination import (
    Nearest,
    majority_answers,
    nearest_train,
    retrieve_by_task,
)
from deepeyes_core.evaluation import SAMPLE_SEED, evaluate_improvement
from deepeyes_core.leakage import jaccard, signature, task_features
from deepeyes_core.records import Step, StepCall, ToolCall, ToolResult, TrainingExample
from deepeyes_core.report_html import render_report
from deepeyes_core.settings import EvaluationSettings

CITIES = ["Paris", "Rome", "Oslo", "Lima", "Kyiv", "Baku", "Doha", "Riga", "Bern", "Sofia"]


def trip(i: int, city: str, days: int, tool: str = "weather") -> TrainingExample:
    """A two-step trajectory: look up a city, then mail the result."""
    steps = (Step((StepCall(tool, {"city": city}, f"c{i}a", ToolResult("sunny")),)),
             Step((StepCall("send_email", {"to": "ops@example.com", "days": days}, f"c{i}b", ToolResult("sent")),)))
    return TrainingExample(
        task_id=f"t{i}", task_description=f"Check the {tool} in {city} for the next {days} days and email ops",
        tool_sequence=(tool, "send_email"), tool_parameters=({"city": city}, {"to": "ops@example.com", "days": days}),
        difficulty="medium", steps=steps)


def brute_nearest(train, held_out):
    found = []
    for example in held_out:
        bucket, features = signature(example)
        best = (None, 0.0)
        for j, candidate in enumerate(train):
            other_bucket, other = signature(candidate)
            if other_bucket == bucket and (similarity := jaccard(features, other)) > best[1]:  # first of equals
                best = (j, similarity)
        found.append(best)
    return found


@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_nearest_train_is_exact_at_the_threshold(threshold):
    rng = random.Random(7)
    pool = [trip(i, rng.choice(CITIES), rng.randint(1, 4), rng.choice(["weather", "forecast"])) for i in range(60)]
    pool += [attrs.evolve(e, task_id=f"copy{e.task_id}") for e in pool[:5]]  # identical features too
    train, held_out = pool[:40], pool[40:] + [attrs.evolve(trip(99, "Nowhere", 9), task_description="Far off")]
    got = nearest_train(train, held_out, threshold)
    for hit, (index, similarity) in zip(got, brute_nearest(train, held_out)):
        if similarity >= threshold:
            assert (hit.train_index, hit.similarity) == (index, pytest.approx(similarity))  # earliest of equals
        else:
            assert hit == Nearest(None, None) and not hit.at_least(0.0)
    assert any(h.similarity == 1.0 for h in got) and any(h.similarity is None for h in got)
    # Another tool sequence is never a neighbour, however alike the words.
    lone = attrs.evolve(held_out[0], tool_sequence=("other", "send_email"))
    assert nearest_train(train, [lone])[0].train_index is None


def test_retrieval_compares_task_text_only():
    train = [trip(0, "Paris", 3), trip(1, "Rome", 2, "forecast")]
    query = attrs.evolve(trip(9, "Rome", 2), tool_sequence=("x",), tool_parameters=({},), steps=())
    hit = retrieve_by_task(train, [query])[0]
    # One word differs from t1's text, two from t0's: t1, although the query's calls match neither.
    assert hit.train_index == 1
    assert hit.similarity == pytest.approx(jaccard(task_features(query), task_features(train[1]))) == 8 / 14


def test_majority_control_follows_the_first_tool_the_task_names():
    train = [trip(0, "Oslo", 1), trip(1, "Oslo", 1), trip(2, "Lima", 2, "forecast"), trip(3, "Lima", 2, "forecast"),
             trip(4, "Lima", 2, "forecast"), trip(5, "Kyiv", 1, "forecast")]
    named = attrs.evolve(trip(9, "Rome", 5), task_description="Use weather for Rome")
    unnamed = attrs.evolve(trip(10, "Rome", 5), task_description="How warm is Rome")
    assert majority_answers(train, [named, unnamed]) == [0, 2]  # weather's most frequent; overall most frequent
    assert majority_answers([], [named]) == [None]


class Replay:
    """Step answers: the trained model right on the examples in ``right``, the base model never."""

    name = "replay"

    def __init__(self, right: set[str]):
        self.right = right

    async def generate(self, model, prompts):
        return ["" for _ in prompts]

    async def generate_steps(self, model, prompts):
        return [tuple(ToolCall(c.name, c.arguments) for c in p.expected.calls)
                if model == "trained" and p.history.turns[0].text in self.right else () for p in prompts]


def test_retrieval_scores_everything_when_test_equals_train_and_the_headline_falls_back():
    train = [trip(i, city, days) for i, (city, days) in enumerate(itertools.product(CITIES, (1, 2, 3, 4)))]
    ev = asyncio.run(evaluate_improvement(Replay(set()), train, train=train))
    step = ev["modes"]["step"]
    assert step["controls"]["retrieval"]["trajectory_accuracy"] == 1.0
    assert step["sets"]["clean"]["examples"] == 0 and step["sets"]["near_duplicate"]["examples"] == 40
    assert ev["headline_set"] == "all" and "only 0 are clean" in ev["headline_set_reason"]
    assert ev["contamination"]["near_duplicate"] == 40
    # The trained model (right on nothing) does not beat retrieval: warned, and not ready.
    assert ev["readiness_for_rl"] is False and "retrieval control" in ev["readiness_reason"]
    assert ev["warnings"] and "does not beat the retrieval control" in ev["warnings"][0]
    assert ev["trained_vs_strongest_control"]["control"] == "retrieval"


def test_the_headline_is_the_clean_set_when_it_is_large_enough():
    rng = random.Random(3)
    train = [trip(i, city, days) for i, (city, days) in enumerate(itertools.product(CITIES[:5], (1, 2)))]
    near = [attrs.evolve(e, task_id=f"n{e.task_id}") for e in train[:4]]  # copies: near-duplicates
    clean = [trip(100 + i, f"Town{i}", 9, "geocode") for i in range(6)]
    test = near + clean
    right = {e.task_description for e in near} | {e.task_description for e in rng.sample(clean, 3)}
    settings = EvaluationSettings(min_clean_examples=5)
    ev = asyncio.run(evaluate_improvement(Replay(right), test, train=train, settings=settings))
    sets = ev["sets"]
    assert (sets["all"]["examples"], sets["clean"]["examples"], sets["near_duplicate"]["examples"]) == (10, 6, 4)
    assert sets["near_duplicate"]["accuracy"]["trained"] == 1.0 and sets["all"]["accuracy"]["trained"] == 0.7
    assert ev["headline_set"] == "clean" and ev["post_training_success_rate"] == 0.5
    assert ev["improvement_pct"] == pytest.approx(50.0) and ev["headline_metric"]["set"] == "clean"
    assert ev["uncertainty"]["examples"] == 6
    # Intervals on every figure of every set.
    for figures in sets.values():
        for name, interval in figures["intervals"].items():
            assert interval["low"] <= figures["accuracy"][name] <= interval["high"]
    # Fewer clean examples than asked for: the headline is all examples, and says why.
    ev = asyncio.run(evaluate_improvement(Replay(right), test, train=train, settings=EvaluationSettings()))
    assert ev["headline_set"] == "all" and "fewer than min_clean_examples = 30" in ev["headline_set_reason"]
    assert ev["post_training_success_rate"] == 0.7


def test_without_train_there_are_no_controls_and_the_sets_are_unknown():
    test = [trip(i, c, 1) for i, c in enumerate(CITIES[:3])]
    ev = asyncio.run(evaluate_improvement(Replay({test[0].task_description}), test))
    assert ev["controls"]["status"] == "not measured" and ev["contamination"]["status"] == "not measured"
    assert list(ev["sets"]) == ["all"] and ev["headline_set"] == "all"


def _run(tmp_path: Path, *overrides: str) -> tuple[dict, Path]:
    from deepeyes_core.cli import main

    out = tmp_path / "run"
    quickstart = Path(__file__).resolve().parent.parent / "examples" / "quickstart.toml"
    code = main(["run", str(quickstart), "--no-progress", "--set", "backend.name=dry-run", "--set",
                 f"output_dir={out}", *[a for o in overrides for a in ("--set", o)]])
    assert code == 0
    report = json.loads(next(out.glob("training_report_*.json")).read_text())
    return report, out


def test_a_dry_run_measures_the_controls_and_decontaminate_empties_the_near_duplicates(tmp_path, capsys):
    report, out = _run(tmp_path)
    ev = report["evaluation"]
    assert ev["status"] == "not measured" and ev["baseline_success_rate"] is None
    assert ev["controls"]["retrieval"]["accuracy"] is not None and ev["controls"]["majority"]["interval"] is not None
    printed = capsys.readouterr().out
    assert "retrieval control" in printed and "majority control" in printed and "clean" in printed
    assert ev["matching"]["mode"] == "bfcl" and "arguments compared" in printed
    rows = [json.loads(line) for line in (out / "contamination.jsonl").read_text().splitlines()]
    stats = report["dataset_stats"]
    assert len(rows) == stats["val"]["count"] + stats["test"]["count"]
    near = stats["contamination"]["test"]["near_duplicate"]
    assert near > 0 and near == sum(r["near_duplicate"] for r in rows if r["split"] == "test")
    from deepeyes_core.cli import main

    capsys.readouterr()
    assert main(["stats", str(out)]) == 0
    assert re.search(rf"test: near-duplicates of train +│ {near} of {stats['test']['count']} ", capsys.readouterr().out)

    report, out = _run(tmp_path / "again", "evaluation.decontaminate=true")
    stats = report["dataset_stats"]
    assert stats["contamination"]["test"]["removed"] == stats["contamination"]["test"]["near_duplicate"] == near
    assert stats["test"]["count"] == stats["contamination"]["test"]["clean"]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    dropped = [r for r in rejects if r["reason"] == "near-duplicate of train"]
    assert len(dropped) == near + stats["contamination"]["val"]["removed"]
    assert report["evaluation"]["contamination"]["near_duplicate"] == 0


def test_a_test_split_over_max_test_examples_is_evaluated_on_a_seeded_sample():
    train = [trip(i, city, days) for i, (city, days) in enumerate(itertools.product(CITIES[:5], (1, 2)))]
    test = [trip(100 + i, f"Town{i}", 1 + i % 3, "geocode") for i in range(12)]
    right = {e.task_description for e in test[::2]}
    settings = EvaluationSettings(max_test_examples=5)
    ev = asyncio.run(evaluate_improvement(Replay(right), test, train=train, settings=settings))
    assert (ev["test_examples"], ev["test_split_examples"]) == (5, 12)
    assert "max_test_examples = 5" in ev["test_sample"] and "5 of the test split's 12" in ev["test_sample"]
    assert html.escape(ev["test_sample"]) in render_report({"evaluation": ev})
    step = ev["modes"]["step"]
    assert step["examples"] == 5 and step["sets"]["all"]["examples"] == 5
    # The same sample every time, and the same figures as evaluating those examples directly.
    again = asyncio.run(evaluate_improvement(Replay(right), test, train=train, settings=settings))
    assert again["sets"] == ev["sets"]
    keep = sorted(random.Random(SAMPLE_SEED).sample(range(12), 5))
    direct = asyncio.run(evaluate_improvement(Replay(right), [test[i] for i in keep], train=train))
    assert direct["sets"] == ev["sets"] and direct["test_sample"] is None
    # A split within the cap is evaluated whole.
    whole = asyncio.run(evaluate_improvement(Replay(right), test, train=train))
    assert whole["test_examples"] == 12 and whole["test_sample"] is None
