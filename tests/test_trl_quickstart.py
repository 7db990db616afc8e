"""The quickstart's default backend trains a real model on the shipped sample and measures a gain.

The tiny recipe (BPE tokenizer + 0.8M-parameter Llama from scratch), 4 epochs instead of the
quickstart's 16 to keep the suite short, fixed seed. Skipped without the "trl" extra."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from deepeyes_core.runner import run  # noqa: E402

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.toml"


def test_tiny_recipe_on_the_sample_beats_the_base_model(tmp_path: Path) -> None:
    result = asyncio.run(run(QUICKSTART, output_dir=tmp_path, overrides=["trainer.epochs=4"]))

    assert result["status"] == "completed"
    training = result["training"]
    assert training["trained"] and training["backend"] == "trl" and training["total_steps"] == 4 * 102
    losses = [epoch["val_loss"] for epoch in training["epochs"]]
    assert len(losses) == 4 and losses == sorted(losses, reverse=True)

    ev = result["evaluation"]
    assert ev["status"] == "measured" and ev["test_examples"] == result["splits"]["test"]
    base, trained = ev["base"], ev["trained"]
    # Measured, not assumed: the random init answers nothing parseable, the trained model calls the
    # right tools in the right order for most tasks and gets many arguments right.
    assert base["tool_name_sequence_accuracy"] < trained["tool_name_sequence_accuracy"]
    assert trained["tool_name_sequence_accuracy"] > 0.5
    assert base["argument_accuracy"] < trained["argument_accuracy"]
    assert ev["post_training_success_rate"] >= ev["baseline_success_rate"]
    assert trained["unparseable"] < base["unparseable"]
    assert ev["improvement_pct"] == pytest.approx(
        100 * (ev["post_training_success_rate"] - ev["baseline_success_rate"]))

    report = json.loads(Path(result["report_file"]).read_text())
    assert report["training"]["library_versions"]["trl"] != "not installed"
    assert report["evaluation"]["trained"] == trained
    assert Path(result["report_file"]).with_suffix(".html").is_file()
    assert (tmp_path / "model" / "final" / "model.safetensors").is_file()
