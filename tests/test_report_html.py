"""The HTML training report: self-contained, well-formed SVG charts, and it renders in headless
Chromium (where Chromium is installed: `.ci/run` installs it when it can)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deepeyes_core import EpochMetrics, TrainingRun
from deepeyes_core.config import load_config
from deepeyes_core.evaluation import evaluate_improvement
from deepeyes_core.report_html import render_report
from deepeyes_core.pipeline import Pipeline
from deepeyes_core.trainer import ColdStartTrainer, RunStatus

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.toml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class HalfRight:
    """A backend whose trained model answers every other test prompt correctly; the base answers nothing."""

    name = "half-right"

    def __init__(self, completions: dict[str, str]):
        self.completions = completions

    async def generate(self, model, prompts):
        if model == "base":
            return ["" for _ in prompts]
        return [self.completions[p] if i % 2 == 0 else "" for i, p in enumerate(prompts)]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart's data with a measured evaluation (HalfRight) and per-epoch metrics, reported
    by the trainer's own export_training_report."""
    out = tmp_path_factory.mktemp("run")
    config = load_config(QUICKSTART, ["backend.name=dry-run"])
    pipeline = Pipeline.from_config(config, QUICKSTART.parent, output_dir=out)
    trainer, items = ColdStartTrainer.from_pipeline(pipeline), pipeline.items()

    async def prepare_and_report() -> Path:
        await trainer.prepare_training_data(items)
        test = trainer.dataset.splits["test"]
        backend = HalfRight({e.prompt("task"): e.completion() for e in test})
        trainer.record.training = TrainingRun(backend="half-right", trained=True, total_steps=30, epochs=tuple(
            EpochMetrics(epoch=i, train_loss=4.0 / i**2, val_loss=4.5 / i**2, train_token_accuracy=1 - 0.5 / i,
                         val_token_accuracy=1 - 0.6 / i) for i in range(1, 6)))
        trainer.record.evaluation = await evaluate_improvement(backend, test, prompt_layout="task",
                                                        phase1_success_rates=trainer.phase1,
                                                        train=trainer.dataset.splits["train"])
        trainer.record.status = RunStatus.COMPLETED
        return await trainer.export_training_report()

    return asyncio.run(prepare_and_report()).with_suffix(".html")


def test_the_page_is_self_contained_with_well_formed_charts(report_file: Path) -> None:
    page = report_file.read_text()
    assert "<script" not in page and not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", page)
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(charts) == 6  # sets with intervals, loss, token accuracy, per tool, per difficulty, splits
    for chart in charts:
        ET.fromstring(chart)  # well-formed XML, so every browser draws it
    for heading in ("Base, controls and trained on each test set", "Loss per epoch", "Token accuracy per epoch", "Held-out test split", "Exact calls per tool",
                    "Exact sequences per difficulty", "Split composition", "Rejected records"):
        assert heading in page
    assert "database_query (" in page  # Phase 1 context beside the tool
    assert "Arguments compared in <b>bfcl</b> mode: BFCL AST-checker rules" in page


def test_missing_measurements_say_not_measured() -> None:
    page = render_report({"evaluation": {"status": "not measured", "reason": "backend 'dry-run' trained nothing"},
                          "training": {"epochs": []}})
    assert "not measured" in page and "trained nothing" in page and "<svg" not in page.split("Loss per epoch")[1][:200]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_renders_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    def chromium(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args,
                               report_file.as_uri()], capture_output=True, text=True, timeout=120, check=True)

    dom = chromium("--dump-dom").stdout
    assert dom.count("<svg") == 6 and "Held-out test split" in dom
    # Base, both controls and trained side by side on each test set, each bar with its interval whisker.
    chart = re.search(r"<svg[^>]*class=\"?intervals.*?</svg>", dom, flags=re.S).group(0)
    scorers = re.findall(r'data-scorer="(\w+)"', chart)
    assert scorers[:4] == ["base", "retrieval", "majority", "trained"] and len(scorers) % 4 == 0
    assert chart.count('class="whisker"') == len(scorers)
    shot = tmp_path / "report.png"
    chromium("--window-size=1100,2400", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a page with charts, not a blank one


def test_the_step_mode_is_shown_and_named() -> None:
    import xml.etree.ElementTree as ET  # noqa: N817

    from deepeyes_core import Step, StepCall, ToolCall, ToolResult, TrainingExample

    calls = [("weather", {"city": c}) for c in ("Paris", "Rome", "Oslo")]
    examples = [TrainingExample(f"t{i}", f"weather in {c['city']} twice", (n, n), (c, c), difficulty="medium",
                                steps=(Step((StepCall(n, c, "a", ToolResult("1")),)), Step((StepCall(n, c, "b"),))))
                for i, (n, c) in enumerate(calls)]

    class Steps(HalfRight):
        async def generate_steps(self, model, prompts):
            right = model == "trained"
            return [tuple(ToolCall(c.name, c.arguments) for c in p.expected.calls) if right and p.index == 0 else ()
                    for p in prompts]

    backend = Steps({e.prompt("task"): e.completion() for e in examples})
    ev = asyncio.run(evaluate_improvement(backend, examples, prompt_layout="task"))
    page = render_report({"evaluation": ev, "training": {"epochs": []}})
    assert "whole-trajectory accuracy" in page and "(step mode)" in page
    assert "step by step: each step answered with the real history before it" in page
    assert "blind sequence: the whole call sequence predicted without results" in page
    assert "first wrong step (trajectories)</td><td>step 1: 3</td><td>step 2: 3</td>" in page
    assert "Whole trajectories right per difficulty" in page
    for chart in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(chart)
