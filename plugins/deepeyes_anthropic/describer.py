"""The ``anthropic`` task describer: Claude writes the request a user would have made for each trajectory.

**Prompt.** The system prompt holds the instructions (write the user's request in plain English,
name every argument value verbatim, never write call syntax) and the tool catalogue of the
trajectories being described (declared ``ToolSpec``s, else names and argument types inferred from
the calls, sorted by name). A ``cache_control`` breakpoint sits on its last block, so every call
after the first reads that shared prefix from Anthropic's prompt cache. The user message holds one
trajectory: agent, and per call the tool, its arguments (JSON) and its result (cut at
``max_result_chars``). Claude Haiku 4.5 caches only prefixes of 4,096 tokens or more; below that the
API caches nothing and says nothing. The first response tells (``cache_creation_input_tokens`` and
``cache_read_input_tokens`` both 0), and ``usage.cache_warning`` then says so instead of claiming
savings; ``count_prefix_tokens = true`` measures the prefix with ``messages.count_tokens`` first.

**Modes.** ``interactive``: the Messages API, ``concurrency`` requests at a time, the SDK's own
retries (``max_retries``, exponential backoff, ``retry-after`` honoured) on 408/409/429/5xx/529. The
first call goes alone, so that the others find the shared prefix in the prompt cache.
``batch``: the Message Batches API, billed at 50 %: submit (at most 100,000 requests or about
200 MB per batch), poll every ``batch_poll_interval_s`` with progress in the log, fetch the
results, and resubmit only the requests that errored (transiently), expired or were canceled, at
most ``batch_max_resubmits`` times. ``auto`` (default) chooses batch when at least
``batch_threshold`` (default 1,000) requests are left to make after the on-disk cache: below that
the saving is well under a dollar with Haiku 4.5 and interactive calls finish in minutes, above it
the halved price is worth a wait of minutes to hours. A describer only sees what one
``describe()`` call hands it; :attr:`AnthropicDescriber.preferred_batch_size` asks the collector
for large calls.

**On-disk cache** (``cache_dir``, default ``$XDG_CACHE_HOME/deepeyes/anthropic``). One JSON file per
trajectory, named by a SHA-256 of the model, the prompt version, the instructions, the generation
settings and the rendered trajectory (its calls, arguments, results and agent; not its ids or
times, and not the tool catalogue, which only gives context). It holds the answers Claude gave
(each validation attempt), written to a temporary file and renamed, so a kill -9 leaves either the
old file or the new one; an unreadable entry is a miss. Answers are validated again on every read,
so changing the validation options costs nothing. In-flight batch ids are kept in
``batches.json`` beside the entries, written the same way as soon as a batch is created, so a rerun
resumes polling that batch instead of submitting it again (a kill between the API creating a batch
and that write loses the id: that one batch would be paid twice).

**Validation** (each answer; a bad one is retried ``validation_retries`` times, with the reason, in
the same conversation; then ``on_invalid``: ``reject`` or ``template``). Non-empty and at most
``max_chars`` characters; every argument value of the calls appears in the text (strings
case-insensitively, whitespace collapsed, those longer than ``max_value_chars`` exempt; numbers as
written or with thousands separators; booleans and nulls are not checked, since words express
them); no call syntax (``name(`` or ``{"``, searched after the argument values are removed, so
``count(*)`` inside a quoted query is fine); English, by a documented heuristic: with the argument
values removed, at least ``min_ascii_letter_share`` of the letters are ASCII and at least one word
is a common English function word (the, to, and, of, for, with, ...).

**Budget.** ``max_calls`` and ``max_input_tokens`` bound a describer's whole life (one run). Each
call is checked before it starts, with its input estimated at one token per three characters; a
call that would cross the budget is not made, and neither is any after it. The trajectories left
end as ``on_budget_exhausted``: a Rejection "budget exhausted", or the ``template`` describer's text.

**Usage.** :attr:`AnthropicDescriber.usage` (an :class:`AnthropicUsage`) counts calls, input, output,
cache-write and cache-read tokens for interactive and batch requests apart, answers served from the
disk cache, retries, rejections and fallbacks, and an estimated cost from ``prices`` (USD per
million tokens; defaults are Claude Haiku 4.5's list prices; batch requests at ``batch_discount``).

**Key and model.** The key comes from the option ``api_key`` or ``ANTHROPIC_API_KEY``; it is never
written to a file, a report or a log (prefer the environment: a key in a config file travels with
the file). Without one, building the describer is a ConfigError. The guide's
``claude-3-5-haiku-20241022`` was retired on 2026-02-19: asking for it is a ConfigError naming
``claude-haiku-4-5``; any other model the API does not know is a ConfigError with the API's answer
and the config key to change.

This module holds the component and its interactive mode; the rest lives beside it: ``batches``
(Message Batches mode), ``cache`` (on-disk cache), ``prompt``, ``validation``, ``usage`` (tokens and
cost) and ``client`` (key, model and API errors, shared with the ``anthropic`` backend).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from deepeyes_core import (
    ConfigError,
    Rejection,
    Trajectory,
    get_plugin_manager,
    hookimpl,
)

from .batches import BATCH_MAX_REQUESTS, BatchMode
from .cache import DiskCache, content_key, default_cache_dir
from .client import (
    DEFAULT_MODEL,
    check_model,
    fatal_api_error,
    import_anthropic,
    make_client,
    message_text,
    over_budget,
    resolve_api_key,
    scrub,
)
from .prompt import (
    INSTRUCTIONS,
    PROMPT_VERSION,
    catalogue_text,
    infer_catalogue,
    render_trajectory,
)
from .units import Unit
from .usage import AnthropicUsage, CacheProbe, Prices
from .validation import ValidationRules, clean_answer

log = logging.getLogger(__name__)

_CHARS_PER_TOKEN = 3.0
_CACHE_CONTROL = {"type": "ephemeral"}


_MODES = ("auto", "interactive", "batch")
_ON = ("reject", "template")


class AnthropicDescriber(BatchMode):
    """Claude writes each trajectory's task (prompt-cached; concurrent or Message Batches; cached on disk)."""

    name = "anthropic"

    @attrs.frozen
    class Options:
        model: str = DEFAULT_MODEL
        #: Prefer ANTHROPIC_API_KEY; a key here is never written out by deepeyes' components.
        api_key: str | None = attrs.field(default=None, repr=False)
        base_url: str | None = None
        mode: str = attrs.field(default="auto", validator=attrs.validators.in_(_MODES))
        #: ``auto`` uses the Batches API from this many uncached requests on.
        batch_threshold: int = attrs.field(default=1000, validator=attrs.validators.ge(1))
        concurrency: int = attrs.field(default=8, validator=attrs.validators.ge(1))
        max_retries: int = attrs.field(default=4, validator=attrs.validators.ge(0))
        timeout_s: float = 120.0
        max_tokens: int = 400
        max_result_chars: int = 400
        #: Budget for the run: calls started, and input tokens (uncached + cache write + cache read).
        max_calls: int | None = None
        max_input_tokens: int | None = None
        on_budget_exhausted: str = attrs.field(default="reject", validator=attrs.validators.in_(_ON))
        validation_retries: int = attrs.field(default=1, validator=attrs.validators.ge(0))
        on_invalid: str = attrs.field(default="reject", validator=attrs.validators.in_(_ON))
        max_chars: int = 1500
        max_value_chars: int = 200
        check_language: bool = True
        min_ascii_letter_share: float = 0.9
        cache_dir: str | None = None
        count_prefix_tokens: bool = False
        batch_poll_interval_s: float = 30.0
        #: Give up polling (the batch id stays saved; a rerun resumes) after this long; None: until it ends.
        batch_max_wait_s: float | None = None
        batch_max_resubmits: int = 2
        prices: Prices = attrs.field(factory=Prices)

    def __init__(self, options: Options | None = None, *, http_client: Any = None):
        options = options or self.Options()
        self.options = options
        component = f"task describer {self.name!r}"
        self._api_key = resolve_api_key(options.api_key, component)
        check_model(options.model, "[describer] model")
        import_anthropic(component)
        self._http_client = http_client
        self.cache = DiskCache(options.cache_dir or default_cache_dir())
        self.usage = AnthropicUsage(model=options.model, prices=options.prices)
        self.rules = ValidationRules(
            options.max_chars, options.max_value_chars, options.check_language, options.min_ascii_letter_share
        )
        self._probe = CacheProbe(self.usage, options.model)
        self._reserved_tokens = 0
        self._measured_prefixes: set[str] = set()
        self._template = None
        #: Called with (event, details) as batches progress: "submitted", "progress", "ended".
        self.on_batch_progress: Callable[[str, dict[str, Any]], None] | None = None

    def __repr__(self) -> str:
        return f"AnthropicDescriber(model={self.options.model!r}, mode={self.options.mode!r})"

    @property
    def preferred_batch_size(self) -> int:
        """How many trajectories one describe() call should get: batch mode gains from large calls."""
        return BATCH_MAX_REQUESTS if self.options.mode != "interactive" else 512

    # -- the protocol --------------------------------------------------------------------------------

    async def describe(self, trajectories: Sequence[Trajectory]) -> list[str | Rejection]:
        if not trajectories:
            return []
        opts = self.options
        system = [
            {"type": "text", "text": INSTRUCTIONS},
            {"type": "text", "text": catalogue_text(infer_catalogue(trajectories)), "cache_control": _CACHE_CONTROL},
        ]
        units: dict[str, Unit] = {}
        for i, trajectory in enumerate(trajectories):
            user_text = render_trajectory(trajectory, opts.max_result_chars)
            key = content_key(PROMPT_VERSION, opts.model, opts.max_tokens, INSTRUCTIONS, user_text)
            unit = units.get(key)
            if unit is None:
                unit = units[key] = Unit(key, trajectory, user_text, [])
                entry = self.cache.get(key)
                if entry and isinstance(entry.get("answers"), dict):
                    unit.answers = entry["answers"]
                    self.usage.cached += 1
                self._settle(unit)
            unit.indices.append(i)
        started = time.perf_counter()
        client = make_client(
            f"task describer {self.name!r}",
            self._api_key,
            opts.base_url,
            opts.max_retries,
            opts.timeout_s,
            self._http_client,
        )
        try:
            await self._resume_batches(client, units)
            while True:
                todo = [u for u in units.values() if u.outcome is None]
                if not todo:
                    break
                if opts.count_prefix_tokens:
                    await self._measure_prefix(client, system)
                if self._mode(len(todo)) == "batch":
                    await self._batch_round(client, system, todo, units)
                else:
                    await self._interactive_round(client, system, todo)
        finally:
            if self._http_client is None:
                await client.close()
        answers = await self._answers(trajectories, units)
        log.info(
            "anthropic describer: %d trajectories in %.1fs; %d calls, %d from cache, estimated $%.4f",
            len(trajectories),
            time.perf_counter() - started,
            self.usage.calls_started,
            self.usage.cached,
            self.usage.estimated_cost_usd,
        )
        return answers

    # -- state of one request --------------------------------------------------------------------------

    def _settle(self, unit: Unit) -> None:
        """Validate the answers known so far; decide the outcome, or leave it open for another call."""
        unit.problems = []
        for attempt in range(1 + self.options.validation_retries):
            answer = unit.answers.get(str(attempt))
            if answer is None:
                unit.outcome = None
                return
            text = clean_answer(answer.get("text", ""))
            problem = self.rules.problem(text, unit.trajectory)
            if problem is None:
                unit.outcome, unit.text = "text", text
                return
            unit.problems.append(problem)
        unit.outcome = "invalid"
        unit.detail = "; ".join(f"attempt {i + 1}: {p}" for i, p in enumerate(unit.problems))

    def _next_attempt(self, unit: Unit) -> int:
        return len(unit.problems)

    def _store(self, unit: Unit, attempt: int, text: str, mode: str, stop_reason: str | None) -> None:
        unit.answers[str(attempt)] = {"text": text, "mode": mode, "stop_reason": stop_reason}
        self.cache.put(unit.key, {"version": PROMPT_VERSION, "model": self.options.model, "answers": unit.answers})
        if attempt:
            self.usage.validation_retries += 1
        self._settle(unit)

    def _params(self, unit: Unit, system: list[dict[str, Any]]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": unit.user_text}]
        for attempt, problem in enumerate(unit.problems):
            previous = unit.answers[str(attempt)].get("text", "").strip() or "(no answer)"
            messages.append({"role": "assistant", "content": previous})
            messages.append(
                {
                    "role": "user",
                    "content": (
                        f"That request was rejected: {problem}. Write it again, following every rule; "
                        "answer with the request only."
                    ),
                }
            )
        return {
            "model": self.options.model,
            "max_tokens": self.options.max_tokens,
            "system": system,
            "messages": messages,
        }

    # -- budget ------------------------------------------------------------------------------------------

    def _reserve(self, unit: Unit, system: list[dict[str, Any]]) -> tuple[dict[str, Any], int, int] | None:
        """The unit's next request, its estimated input tokens (reserved against the budget) and
        its attempt number; None, with the unit marked ``budget``, when the budget cannot take it."""
        params = self._params(unit, system)
        estimate = self._estimate(params)
        if not self._take_budget(estimate):
            unit.outcome, unit.detail = "budget", self._budget_detail()
            return None
        return params, estimate, self._next_attempt(unit)

    def _estimate(self, params: dict[str, Any]) -> int:
        chars = sum(len(b["text"]) for b in params["system"]) + sum(len(m["content"]) for m in params["messages"])
        return int(chars / _CHARS_PER_TOKEN) + 1

    def _take_budget(self, estimate: int) -> bool:
        """Reserve a call of ``estimate`` input tokens; False (and the budget is spent) if it does not fit."""
        opts = self.options
        if self.usage.budget_exhausted:
            return False
        spent = self.usage.total_input_tokens + self._reserved_tokens
        limit = over_budget(self.usage.calls_started, spent, estimate, opts.max_calls, opts.max_input_tokens)
        if limit is not None:
            self.usage.budget_exhausted = True
            log.warning("anthropic describer: budget exhausted (%s); no more calls", limit)
            return False
        self.usage.calls_started += 1
        self._reserved_tokens += estimate
        return True

    def _budget_detail(self) -> str:
        o = self.options
        return f"max_calls={o.max_calls}, max_input_tokens={o.max_input_tokens}; {self.usage.calls_started} calls made"

    def _mode(self, pending: int) -> str:
        if self.options.mode != "auto":
            return self.options.mode
        return "batch" if pending >= self.options.batch_threshold else "interactive"

    async def _measure_prefix(self, client: Any, system: list[dict[str, Any]]) -> None:
        digest = content_key(system)
        if digest in self._measured_prefixes:
            return
        self._measured_prefixes.add(digest)
        try:
            counted = await client.messages.count_tokens(
                model=self.options.model, system=system, messages=[{"role": "user", "content": "."}]
            )
        except Exception as exc:  # noqa: BLE001 -- a measurement only; the calls themselves will tell
            log.info("anthropic describer: count_tokens failed: %s", scrub(str(exc), self._api_key))
            return
        self._probe.measured(max(int(counted.input_tokens) - 1, 0))

    # -- interactive ---------------------------------------------------------------------------------------

    async def _interactive_round(self, client: Any, system: list[dict[str, Any]], todo: list[Unit]) -> None:
        anthropic = import_anthropic("task describer 'anthropic'")

        async def worker(queue: Iterator[Unit]) -> None:
            for unit in queue:
                call = self._reserve(unit, system)
                if call is None:
                    continue
                params, estimate, attempt = call
                try:
                    message = await client.messages.create(**params)
                except anthropic.APIError as exc:
                    fatal = fatal_api_error(exc, self.options.model, "[describer] model", self._api_key)
                    if fatal is not None:
                        raise fatal from None
                    self.usage.failed_calls += 1
                    unit.outcome = "error"
                    unit.detail = scrub(f"{type(exc).__name__}: {exc}", self._api_key)[:500]
                    continue
                except ValueError as exc:  # a response body that is not JSON
                    self.usage.failed_calls += 1
                    unit.outcome, unit.detail = "error", f"malformed response: {type(exc).__name__}: {exc}"[:500]
                    continue
                finally:
                    self._reserved_tokens -= estimate
                self.usage.record(message.usage, "interactive")
                self._probe.observe(message.usage)
                self._store(unit, attempt, message_text(message), "interactive", message.stop_reason)

        # The first call goes alone and writes the prompt cache; the others then read it.
        queue = iter(todo)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(worker(itertools.islice(queue, 1)))
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.options.concurrency, len(todo) - 1)):
                    group.create_task(worker(queue))
        except* ConfigError as errors:
            raise errors.exceptions[0] from None

    # -- answers -----------------------------------------------------------------------------------------

    async def _answers(self, trajectories: Sequence[Trajectory], units: dict[str, Unit]) -> list[str | Rejection]:
        answers: list[str | Rejection | None] = [None] * len(trajectories)
        fallback: list[int] = []
        reasons = {
            "invalid": "description failed validation",
            "budget": "budget exhausted",
            "error": "anthropic API error",
        }
        for unit in units.values():
            for i in unit.indices:
                if unit.outcome == "text":
                    answers[i] = unit.text
                elif (unit.outcome == "invalid" and self.options.on_invalid == "template") or (
                    unit.outcome == "budget" and self.options.on_budget_exhausted == "template"
                ):
                    fallback.append(i)
                else:
                    answers[i] = Rejection.of_trajectory(
                        trajectories[i],
                        reasons.get(unit.outcome or "error", "anthropic API error"),
                        unit.detail,
                        stage="describe",
                    )
                    self.usage.rejected += 1
        if fallback:
            if self._template is None:
                self._template = get_plugin_manager().build("task_describer", "template")
            described = await self._template.describe([trajectories[i] for i in fallback])
            for i, text in zip(fallback, described, strict=True):
                answers[i] = text
            self.usage.fallbacks += len(fallback)
        return answers  # type: ignore[return-value]


@hookimpl
def deepeyes_task_describers():
    return [AnthropicDescriber]
