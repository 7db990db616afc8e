"""Routing by the base model's pass rate (DeepEyesV2's curation): the core part.

:func:`base_model_passes` asks a backend's base model ``sampling.samples`` times per example and
counts the right answers, scored as evaluation scores them: in step mode (every step's calls
right as a set, each step shown the real results before it) where the example has steps and the
backend has ``sample_steps``, else the blind prompt's exact call sequence. In step mode sample
``j`` of a trajectory is the ``j``-th sample at each of its steps; it passes when every step is
right. :func:`write_rl_pool` writes the RL pool; :func:`routing_stats` the counts for the stats.
A router component (``[router]``, e.g. ``pass-rate``) decides the thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from .chat import step_prompts, steps_of
from .components import RoutedExample, Routes, Sampling, TrainingSettings
from .errors import ConfigError
from .evaluation import MatchOptions, check_no_leak, score_answer, step_right
from .io import atomic_write
from .records import ToolCall, TrainingExample

#: The file the RL pool is written to, beside the SFT splits.
RL_POOL_FILE = "rl_pool.jsonl"
_EXACT = MatchOptions()


def backend_name(backend: Any) -> str:
    return getattr(backend, "name", type(backend).__name__)


def require_sampler(backend: Any, router: str) -> None:
    """ConfigError (one line) when ``backend`` cannot sample its base model."""
    if not callable(getattr(backend, "sample", None)):
        raise ConfigError(
            f"router {router!r} needs the base model's answers, and training backend {backend_name(backend)!r} "
            "cannot sample a base model (it has no sample()): choose a backend that can, e.g. 'trl' or 'anthropic'"
        )


def _checked(answers: Any, prompts: int, samples: int, backend: Any) -> list[list[Any]]:
    if answers is None or len(answers) != prompts or any(len(a) != samples for a in answers):
        got = "nothing" if answers is None else f"{len(answers)} prompts' answers"
        raise ValueError(
            f"backend {backend_name(backend)!r} gave {got} for {prompts} prompts x {samples} samples"
        )
    return [list(a) for a in answers]


async def base_model_passes(
    examples: Sequence[TrainingExample],
    backend: Any,
    sampling: Sampling,
    settings: TrainingSettings,
    options: MatchOptions = _EXACT,
) -> list[RoutedExample]:
    """Each example with how many of ``sampling.samples`` base-model answers were right, in order."""
    k = sampling.samples
    stepped = [e for e in examples if e.steps] if callable(getattr(backend, "sample_steps", None)) else []
    passes: dict[int, RoutedExample] = {}
    if stepped:
        groups = [step_prompts(e) for e in stepped]
        flat = [prompt for group in groups for prompt in group]
        answers = _checked(await backend.sample_steps(flat, sampling, settings), len(flat), k, backend)
        start = 0
        for example, group in zip(stepped, groups):
            per_step = answers[start:start + len(group)]
            start += len(group)
            expected = [[ToolCall(c.name, c.arguments) for c in step.calls] for step in steps_of(example)]
            right = sum(all(step_right(calls, tuple(step[j]), options) for calls, step in zip(expected, per_step))
                        for j in range(k))
            passes[id(example)] = RoutedExample(example, right, k, "step")
    blind = [e for e in examples if id(e) not in passes]
    if blind:
        prompts = [e.prompt(settings.prompt_layout) for e in blind]
        for example, prompt in zip(blind, prompts):
            check_no_leak(example, prompt)
        answers = _checked(await backend.sample(prompts, sampling, settings), len(prompts), k, backend)
        for example, texts in zip(blind, answers):
            right = sum(score_answer(example.calls, text, options).exact for text in texts)
            passes[id(example)] = RoutedExample(example, right, k, "blind-sequence")
    return [passes[id(e)] for e in examples]


def write_rl_pool(path: Path, routed: Sequence[RoutedExample], prompt_layout: str) -> Path:
    """The RL pool, one record a line: the ``jsonl`` exporter's record (task_id, prompt, completion,
    metadata) plus ``pass_rate``, ``passes``, ``samples`` and ``pass_mode``; written atomically."""
    with atomic_write(path) as handle:
        for item in routed:
            record = {**item.example.to_dict(prompt_layout), "pass_rate": item.pass_rate, "passes": item.passes,
                      "samples": item.samples, "pass_mode": item.mode}
            handle.write(orjson.dumps(record) + b"\n")
    return path


def routing_stats(router: str, routes: Routes) -> dict[str, Any]:
    """The ``routing`` entry of ``dataset_stats.json``: the router, the count per route, how often
    each mode scored, and the router's settings (samples, temperature, thresholds, seed)."""
    every = [*routes.sft, *routes.rl_pool, *(item for item, _ in routes.rejected)]
    modes: dict[str, int] = {}
    for item in every:
        modes[item.mode] = modes.get(item.mode, 0) + 1
    return {
        "router": router,
        "examples": len(every),
        "dropped_solved": len(routes.rejected),
        "rl_pool": len(routes.rl_pool),
        "sft": len(routes.sft),
        "scored_by_mode": dict(sorted(modes.items())),
        "rl_pool_file": RL_POOL_FILE,
        **routes.settings,
    }
