"""The quickstart's default backend trains a real model on the shipped sample and measures a gain.

The tiny recipe (BPE tokenizer + 0.8M-parameter Llama from scratch) trained on the trajectories as
conversations, 2 epochs instead of the quickstart's 6 to keep the suite short, fixed seed; measured
step by step (the headline) and on the blind sequence. Skipped without the "trl" extra."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from deepeyes_core.runner import run  # noqa: E402

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.toml"


def test_tiny_recipe_on_the_sample_beats_the_base_model(tmp_path: Path) -> None:
    result = asyncio.run(run(QUICKSTART, output_dir=tmp_path, overrides=["trainer.epochs=2"]))

    assert result["status"] == "completed"
    training = result["training"]
    steps_per_epoch = -(-result["splits"]["train"] // 8)
    assert training["trained"] and training["backend"] == "trl" and training["total_steps"] == 2 * steps_per_epoch
    assert training["extra"]["trained_on"] == "conversations (assistant turns only)"
    losses = [epoch["val_loss"] for epoch in training["epochs"]]
    assert len(losses) == 2 and losses == sorted(losses, reverse=True)

    ev = result["evaluation"]
    assert ev["status"] == "measured" and ev["test_examples"] == result["splits"]["test"]
    # The sample's examples have steps and the trl backend answers step prompts: step mode is the headline.
    assert ev["mode"] == "step" and ev["headline_metric"]["metric"] == "trajectory_accuracy"
    base, trained = ev["base"], ev["trained"]
    assert base["mode"] == trained["mode"] == "step"
    # Measured, not assumed: the random init makes no well-formed call; the trained model makes
    # right calls, given the real history (the quickstart's 6 epochs: 34.7% of 450 steps).
    assert base["step_accuracy"] < trained["step_accuracy"]
    assert base["call_accuracy"] < trained["call_accuracy"]
    assert trained["steps_without_calls"] < base["steps_without_calls"]
    # Whole trajectories right need every step right: 2 epochs measured 0 of 210 (6 epochs: 13).
    assert ev["post_training_success_rate"] >= ev["baseline_success_rate"]
    assert ev["uncertainty"]["trained"]["low"] <= ev["post_training_success_rate"] <= ev["uncertainty"]["trained"]["high"]
    assert ev["post_training_success_rate"] == trained["trajectory_accuracy"]
    assert ev["improvement_pct"] == pytest.approx(
        100 * (ev["post_training_success_rate"] - ev["baseline_success_rate"]))
    assert sum(trained["first_error"].values()) == trained["examples"]
    assert trained["first_error"].get("none", 0) == round(trained["trajectory_accuracy"] * trained["examples"])
    blind = ev["modes"]["blind-sequence"]
    assert blind["status"] == "measured" and blind["trained"]["mode"] == "blind-sequence"

    report = json.loads(Path(result["report_file"]).read_text())
    assert report["training"]["library_versions"]["trl"] != "not installed"
    assert report["evaluation"]["trained"] == trained
    assert Path(result["report_file"]).with_suffix(".html").is_file()
    assert (tmp_path / "model" / "final" / "model.safetensors").is_file()
