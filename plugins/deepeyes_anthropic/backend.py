"""The ``anthropic`` training backend: Claude adapted in context, since the API has no fine-tuning.

**Training is selection.** ``train`` chooses demonstrations (solved examples) from the train split:

1. *Coverage.* The train split is ordered by ``task_id`` and shuffled with ``settings.seed``; then,
   greedily, the example that covers the most tools and difficulty levels not yet covered is taken
   (ties: the earlier in that order), until every tool and difficulty of the train split is covered
   or ``max_demonstrations`` is reached.
2. *Greedy rounds.* ``settings.epochs`` rounds; each draws ``candidates_per_round`` candidates (with
   the seed), scores the current demonstrations plus each candidate on the val split (at most
   ``val_limit`` examples, drawn with the seed) by the evaluator's exact-sequence accuracy
   (``score_model``), and keeps the best candidate if it beats the current score.

Cost: about ``val_limit × (1 + epochs × candidates_per_round)`` calls (5,000 with the defaults and
a large val split), each paying the demonstrations at the cache-read price once the first call of
its prefix wrote them. ``TrainingRun.total_steps`` counts the demonstration sets scored.

The artifact, ``anthropic_adaptation.json`` in the workdir, holds the system prompt, the tool
catalogue, the demonstrations and their ids, and every round's candidates and val scores. Every
answer is cached on disk by a hash of the model, the full request and the prompt, so a rerun with
the same data and seed replays the same answers and makes the same choices, paying for nothing twice.
``learning_rate`` and ``batch_size`` do not apply and are reported so.

**Serving.** ``generate("trained", prompts)`` sends the instructions, then the demonstrations with a
``cache_control`` breakpoint (system blocks; the first request of a new prefix is sent alone, so
the others read the prefix from the cache). ``generate("base", prompts)`` asks the same model with
the same instructions and no demonstrations. ``tool_format = "text"`` (default) asks for the
completion layout ("Tool Invocation Sequence:\\n1. name({json})"); ``"tools"`` offers the tool
catalogue as Messages ``tools`` (``tool_choice: any``, every call in one turn) and writes the
``tool_use`` blocks back in the completion layout. Only tools seen in train and val can be offered.
A prompt the API fails to answer after the SDK's retries stops the run (an evaluation with holes
would not be honest). The prefix cache needs at least the model's minimum cacheable length (4,096
tokens for Claude Haiku 4.5); when the first response shows no cache written and none read,
``usage.cache_warning`` says so.

**Step-level evaluation.** ``generate_steps`` replays each step prompt's history as Messages turns
(the request; each earlier step as an assistant turn of ``tool_use`` blocks, then a user turn of
``tool_result`` blocks carrying the real results and errors, ``is_error`` set on failures), offers
the tools as Messages ``tools`` (``tool_choice: auto``), and reads the ``tool_use`` blocks of the
answer as the step's calls. The trained model has its demonstrations behind the same breakpoint;
answers are cached on disk like the others.

**Sampling the base model** (for the ``pass-rate`` router, before training): ``sample`` and
``sample_steps`` ask the base model (``model``, else the trainer's ``model_id``) with the same
instructions as ``generate``/``generate_steps`` and no demonstrations, ``samples`` requests per
prompt. The Messages API (version 2026-10-21; SDK 2.x has no ``temperature``, ``top_p`` or
``top_k``, and the API refuses them) samples at the model's own temperature, taken as 1.0: any
other temperature is refused. Each answer is cached on disk under a key that holds the request,
the temperature, the sample's index and the seed, so a rerun replays every sample and pays
nothing twice; another seed draws new ones. Routing supports
``tool_format = "text"`` only for blind prompts (the tool catalogue is known after training).

**Budget.** ``max_calls`` and ``max_input_tokens`` bound the paid requests of the backend's whole
life (training, serving and sampling; answers from the disk cache are free). Each request is
counted before it is made, its input estimated at one token per three characters of its JSON; a
request that would cross the budget is not made, and neither is any after it: the call that needed
it fails with :class:`~deepeyes_anthropic.client.BudgetExhausted` (a DeepeyesError) once the
requests in flight have finished and been cached. Nothing is filled in; a rerun with a larger
budget pays only for the answers still missing. ``usage`` reports calls, tokens and cache hits.

**Batches** (``batch = true``; sampling only, see :mod:`~deepeyes_anthropic.batch_sampling`):
``sample`` and ``sample_steps`` send every uncached request as Message Batches (billed at
``prices.batch_discount``), polled every ``batch_poll_interval_s``, each answer stored in the cache
entry the per-request path uses (so either mode's rerun pays nothing twice); errored (transiently),
expired or canceled requests are resubmitted at most ``batch_max_resubmits`` times; in-flight batch
ids are kept in ``backend-batches.json`` in the cache folder, so an interrupted run (or one past
``batch_max_wait_s``) resumes them. The budget counts each request when it is submitted.

**Weights.** Weight-level fine-tuning of Claude goes through the ``bedrock-claude`` export (Amazon
Bedrock's Claude fine-tuning format); this backend changes no weights.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from deepeyes_core import (
    CHAT_SYSTEM_PROMPT,
    DEFAULT_PROMPT_LAYOUT,
    SYSTEM_PROMPT,
    ConfigError,
    Conversation,
    DeepeyesError,
    EpochMetrics,
    Sampling,
    StepCall,
    StepPrompt,
    ToolCall,
    ToolSpec,
    TrainingExample,
    TrainingRun,
    TrainingSettings,
    atomic_json,
    converter,
    hookimpl,
    score_model,
)

from .batch_sampling import BatchSampling, SampleRequest
from .cache import DiskCache, content_key, default_cache_dir
from .client import (
    BudgetExhausted,
    check_model,
    fatal_api_error,
    import_anthropic,
    make_client,
    message_text,
    over_budget,
    resolve_api_key,
    scrub,
)
from .usage import AnthropicUsage, CacheProbe, Prices

ARTIFACT = "anthropic_adaptation.json"
ARTIFACT_FORMAT = "deepeyes-anthropic-in-context/1"
_CACHE_CONTROL = {"type": "ephemeral"}
_TEXT_INSTRUCTIONS = (
    SYSTEM_PROMPT + " Write it exactly in this layout, and nothing else:\nTool Invocation Sequence:\n"
    '1. tool_name({"argument": "value"})\n2. next_tool({...})\n'
    "Use only the tools offered, and copy argument values exactly from the task."
)
_TOOL_INSTRUCTIONS = (
    "You are an agent that completes tasks by invoking tools. Make every tool call the task needs, in "
    "order, all in this one turn: you will not see their results. Use only the tools offered, copy "
    "argument values exactly from the task, and write no text."
)
_STEP_INSTRUCTIONS = (
    CHAT_SYSTEM_PROMPT + " Use only the tools offered, and copy argument values exactly from the task."
)
_API_NAME = re.compile(r"[^a-zA-Z0-9_-]")
_TEXT_V, _STEPS_V = "backend-v1", "backend-steps-v1"
_CHARS_PER_TOKEN = 3


def _merge(*catalogues: Sequence[ToolSpec]) -> tuple[ToolSpec, ...]:
    specs: dict[str, ToolSpec] = {}
    for catalogue in catalogues:
        for spec in catalogue:
            specs.setdefault(spec.name, spec)
    return tuple(specs[name] for name in sorted(specs))


def _tool_result(call: StepCall) -> dict[str, Any]:
    """The ``tool_result`` block of one call: its real result, or its error (``is_error``), or a line
    saying the log has none."""
    result = call.result
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": _API_NAME.sub("_", call.call_id)}
    if result is None:
        block["content"] = "[the log has no result for this call]"
    elif result.is_error:
        error = f"Error: {result.error}" if result.error else "Error"
        block["content"] = error if result.content is None else f"{error}\n{result.content}"
        block["is_error"] = True
    else:
        block["content"] = result.content or ""
    return block


def _replay(history: Conversation, api_names: dict[str, str]) -> list[dict[str, Any]]:
    """The conversation so far as Messages turns: the user's request; each step as an assistant turn
    (its text, its ``tool_use`` blocks) and one user turn of ``tool_result`` blocks."""
    messages: list[dict[str, Any]] = []
    for turn in history.turns:
        if turn.role == "user":
            messages.append({"role": "user", "content": turn.text or ""})
        elif turn.role == "assistant":
            content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
            content += [{"type": "tool_use", "id": _API_NAME.sub("_", call.call_id),
                         "name": api_names.get(call.name, _API_NAME.sub("_", call.name)[:64]),
                         "input": call.arguments}
                        for call in turn.calls]
            messages.append({"role": "assistant", "content": content})
        else:
            assert turn.call is not None
            block = _tool_result(turn.call)
            if messages[-1]["role"] == "user" and isinstance(messages[-1]["content"], list):
                messages[-1]["content"].append(block)
            else:
                messages.append({"role": "user", "content": [block]})
    return messages


def _catalogue(examples: Sequence[TrainingExample]) -> tuple[ToolSpec, ...]:
    specs: dict[str, ToolSpec] = {}
    for example in examples:
        for spec in example.tools:
            specs.setdefault(spec.name, spec)
        for name in example.tool_sequence:
            specs.setdefault(name, ToolSpec(name))
    return tuple(specs[name] for name in sorted(specs))


def _render_calls(calls: Sequence[ToolCall]) -> str:
    return "Tool Invocation Sequence:\n" + "\n".join(f"{i}. {call.render()}" for i, call in enumerate(calls, 1))


class AnthropicBackend(BatchSampling):
    """Adapts Claude in context (the Anthropic API has no fine-tuning endpoint): chosen demonstrations, prompt-cached.

    "Training" chooses demonstrations from the train split (coverage of tools and difficulties, then
    ``epochs`` greedy rounds scored on val); serving puts them behind a prompt-cache breakpoint. No
    weight changes: weight-level Claude fine-tuning goes through the ``bedrock-claude`` export.
    """

    name = "anthropic"

    @attrs.frozen
    class Options:
        #: None: the trainer's ``model_id``.
        model: str | None = None
        api_key: str | None = attrs.field(default=None, repr=False)
        base_url: str | None = None
        tool_format: str = attrs.field(default="text", validator=attrs.validators.in_(("text", "tools")))
        concurrency: int = attrs.field(default=8, validator=attrs.validators.ge(1))
        max_retries: int = attrs.field(default=4, validator=attrs.validators.ge(0))
        timeout_s: float = 120.0
        max_tokens: int = 1024
        max_demonstrations: int = attrs.field(default=32, validator=attrs.validators.ge(1))
        candidates_per_round: int = attrs.field(default=8, validator=attrs.validators.ge(1))
        #: Val examples scored per candidate (drawn with the seed); None: all.
        val_limit: int | None = 200
        cache_dir: str | None = None
        prices: Prices = attrs.field(factory=Prices)
        #: Budget over the backend's life: paid requests, and their input tokens (cache hits are free).
        max_calls: int | None = None
        max_input_tokens: int | None = None
        #: Sample the base model (routing) through Message Batches.
        batch: bool = False
        batch_poll_interval_s: float = 30.0
        #: Give up polling (the batch id stays saved; a rerun resumes) after this long; None: until it ends.
        batch_max_wait_s: float | None = None
        batch_max_resubmits: int = attrs.field(default=2, validator=attrs.validators.ge(0))

    def __init__(self, options: Options | None = None, *, http_client: Any = None):
        options = options or self.Options()
        self.options = options
        component = f"training backend {self.name!r}"
        self._api_key = resolve_api_key(options.api_key, component)
        if options.model:
            check_model(options.model, "[backend] model")
        import_anthropic(component)
        self._http_client = http_client
        self._model: str | None = options.model
        self.cache = DiskCache(options.cache_dir or default_cache_dir())
        self.usage = AnthropicUsage(model=options.model or "", prices=options.prices)
        self._probe = CacheProbe(self.usage, options.model or "")
        self.catalogue: tuple[ToolSpec, ...] = ()
        self.demonstrations: list[TrainingExample] = []
        self.trained = False
        #: The prompt layout the demonstrations are shown in: the one they were chosen with.
        self._layout = DEFAULT_PROMPT_LAYOUT
        self._reserved_tokens = 0
        #: Answers this backend paid for and stored in the disk cache.
        self._stored = 0
        self._budget_limit: str | None = None

    def __repr__(self) -> str:
        return f"AnthropicBackend(model={self._model!r}, tool_format={self.options.tool_format!r})"

    @property
    def _config_key(self) -> str:
        return "[backend] model" if self.options.model else "[trainer] model_id"

    # -- training --------------------------------------------------------------------------------------

    async def train(
        self,
        train: Sequence[TrainingExample],
        val: Sequence[TrainingExample],
        settings: TrainingSettings,
        workdir: Path,
        progress: Callable[[int, int], None] | None = None,
    ) -> TrainingRun:
        started = time.perf_counter()
        if settings.prompt_layout == "guide":
            raise ConfigError(
                "training backend 'anthropic': the 'guide' prompt layout repeats the answer in the prompt, so "
                "demonstrations cannot be chosen on it; set [dataset] prompt_layout to 'catalogue' or 'task'"
            )
        if not self.options.model:
            check_model(settings.model_id, "[trainer] model_id")
            self._model = settings.model_id
            self.usage.model = self._probe.model = settings.model_id
        if not train:
            return TrainingRun(
                backend=self.name, trained=False, reason="the train split is empty: nothing to choose from"
            )
        rng = random.Random(settings.seed)
        pool = sorted(train, key=lambda e: e.task_id)
        rng.shuffle(pool)
        self.catalogue = _catalogue([*train, *val])
        chosen = self._coverage(pool)
        scored = sorted(val, key=lambda e: e.task_id)
        if self.options.val_limit is not None and len(scored) > self.options.val_limit:
            scored = sorted(rng.sample(scored, self.options.val_limit), key=lambda e: e.task_id)
        layout = self._layout = settings.prompt_layout
        score = await self._val_score(chosen, [], scored, layout) if scored else None
        coverage_score = score
        rounds: list[dict[str, Any]] = []
        epochs: list[EpochMetrics] = []
        for epoch in range(1, settings.epochs + 1):
            ids = {e.task_id for e in chosen}
            remaining = [e for e in pool if e.task_id not in ids]
            room = len(chosen) < self.options.max_demonstrations and scored and remaining
            candidates = rng.sample(remaining, min(self.options.candidates_per_round, len(remaining))) if room else []
            results = []
            for candidate in candidates:
                results.append((await self._val_score(chosen, [candidate], scored, layout), candidate))
            added = None
            if results:
                best_score, best = max(results, key=lambda r: r[0])  # first of equals
                if best_score > (score or 0.0):
                    chosen.append(best)
                    score, added = best_score, best.task_id
            rounds.append(
                {
                    "epoch": epoch,
                    "val_score": score,
                    "added": added,
                    "candidates": [{"task_id": c.task_id, "val_score": s} for s, c in results],
                }
            )
            epochs.append(EpochMetrics(epoch=epoch, val_score=score))
            if progress is not None:
                progress(epoch, settings.epochs)
        self.demonstrations = chosen
        self.trained = True
        artifact = Path(workdir) / ARTIFACT
        atomic_json(artifact, self._artifact(settings, coverage_score, rounds, len(scored)))
        anthropic = import_anthropic("training backend 'anthropic'")
        return TrainingRun(
            backend=self.name,
            trained=True,
            reason=(
                "in-context adaptation: demonstrations chosen from the train split; "
                "the Anthropic API has no fine-tuning endpoint"
            ),
            epochs=tuple(epochs),
            total_steps=1 + sum(len(r["candidates"]) for r in rounds),  # demonstration sets scored on val
            total_tokens=self.usage.total_input_tokens + self.usage.output_tokens,
            wall_time_s=round(time.perf_counter() - started, 3),
            artifact=str(artifact),
            device=f"Anthropic API ({self._model})",
            not_applicable={"learning_rate": "not applicable", "batch_size": "not applicable"},
            library_versions={"anthropic": anthropic.__version__},
            extra={
                "demonstrations": len(chosen),
                "coverage_val_score": coverage_score,
                "val_examples_scored": len(scored),
                "usage": converter.unstructure(self.usage),
            },
        )

    def _coverage(self, pool: list[TrainingExample]) -> list[TrainingExample]:
        def elements(example: TrainingExample) -> set[tuple[str, str]]:
            return {("tool", t) for t in example.tool_sequence} | {("difficulty", example.difficulty)}

        uncovered = set().union(*(elements(e) for e in pool))
        chosen: list[TrainingExample] = []
        taken: set[str] = set()
        while uncovered and len(chosen) < self.options.max_demonstrations:
            best, best_gain = None, 0
            for example in pool:
                gain = len(elements(example) & uncovered) if example.task_id not in taken else 0
                if gain > best_gain:
                    best, best_gain = example, gain
            if best is None:
                break
            chosen.append(best)
            taken.add(best.task_id)
            uncovered -= elements(best)
        return chosen

    async def _val_score(
        self, chosen: list[TrainingExample], extra: list[TrainingExample], val: Sequence[TrainingExample], layout: str
    ) -> float:
        answers = await self._answer_all(self._system(chosen, extra, layout), [e.prompt(layout) for e in val])
        return score_model(val, answers)["exact_sequence_accuracy"]

    def _artifact(
        self, settings: TrainingSettings, coverage: float | None, rounds: list[dict[str, Any]], scored: int
    ) -> dict[str, Any]:
        layout = settings.prompt_layout
        return {
            "format": ARTIFACT_FORMAT,
            "backend": self.name,
            "model": self._model,
            "tool_format": self.options.tool_format,
            "prompt_layout": layout,
            "seed": settings.seed,
            "epochs": settings.epochs,
            "system_prompt": self._instructions(),
            "system_blocks": self._system(self.demonstrations, [], layout),
            "tool_catalogue": converter.unstructure(list(self.catalogue)),
            "demonstration_ids": [e.task_id for e in self.demonstrations],
            "demonstrations": [
                {
                    "task_id": e.task_id,
                    "difficulty": e.difficulty,
                    "tool_sequence": list(e.tool_sequence),
                    "prompt": e.prompt(layout),
                    "completion": e.completion(),
                }
                for e in self.demonstrations
            ],
            "coverage_val_score": coverage,
            "val_examples_scored": scored,
            "rounds": rounds,
            "usage": converter.unstructure(self.usage),
        }

    # -- prompts ---------------------------------------------------------------------------------------

    def _instructions(self) -> str:
        if self.options.tool_format == "tools":
            return _TOOL_INSTRUCTIONS
        tools = "\n".join(f"- {spec.signature()}" for spec in self.catalogue)
        return _TEXT_INSTRUCTIONS + (f"\n\nTools:\n{tools}" if tools else "")

    def _system(
        self, chosen: Sequence[TrainingExample], extra: Sequence[TrainingExample], layout: str,
        instructions: str | None = None,
    ) -> list[dict[str, Any]]:
        """Instructions, then the demonstrations behind a breakpoint, then (while choosing) one
        candidate behind a second breakpoint, so the demonstrations chosen so far stay cached."""
        blocks: list[dict[str, Any]] = [{"type": "text", "text": instructions or self._instructions()}]
        numbered = 0
        for group in (chosen, extra):
            if not group:
                continue
            lines = [] if numbered else ["Solved examples, one per <example>:"]
            for example in group:
                numbered += 1
                lines.append(f"<example>\n{example.prompt(layout)}\n\n{example.completion()}\n</example>")
            blocks.append({"type": "text", "text": "\n\n".join(lines), "cache_control": _CACHE_CONTROL})
        return blocks

    def _tools(self, catalogue: Sequence[ToolSpec] | None = None) -> tuple[list[dict[str, Any]], dict[str, str]]:
        tools, names = [], {}
        for spec in self.catalogue if catalogue is None else catalogue:
            api_name = _API_NAME.sub("_", spec.name)[:64]
            while api_name in names:
                api_name = api_name[:60] + f"_{len(names)}"
            names[api_name] = spec.name
            schema = (
                spec.parameters if spec.parameters.get("type") == "object" else {"type": "object", "properties": {}}
            )
            tools.append(
                {"name": api_name, "description": spec.description or f"The {spec.name} tool.", "input_schema": schema}
            )
        return tools, names

    # -- serving ---------------------------------------------------------------------------------------

    async def generate(self, model: str, prompts: Sequence[str]) -> list[str] | None:
        if model == "trained" and not self.trained:
            return None
        if self._model is None:
            return None
        demonstrations = self.demonstrations if model == "trained" else []
        # The layout of the demonstrations is the one they were chosen with; prompts come as given.
        return await self._answer_all(self._system(demonstrations, [], self._layout), list(prompts))

    async def _answer_all(self, system: list[dict[str, Any]], prompts: list[str]) -> list[str]:
        return await self._gather([self._text_request(system, prompt) for prompt in prompts])

    def _client(self) -> Any:
        opts = self.options
        return make_client(f"training backend {self.name!r}", self._api_key, opts.base_url, opts.max_retries,
                           opts.timeout_s, self._http_client)

    async def _gather(self, requests: Sequence[SampleRequest]) -> list[Any]:
        """Every request's value, in order: the first alone (it writes the prefix cache), then the
        others concurrently. When the budget runs out, the requests in flight still finish (and are
        cached) before :class:`BudgetExhausted` is raised."""
        if not requests:
            return []
        client = self._client()
        semaphore = asyncio.Semaphore(self.options.concurrency)

        async def one(request: SampleRequest) -> Any:
            try:
                return await self._fetch(client, semaphore, request)
            except BudgetExhausted:
                return None

        try:
            first = await self._fetch(client, semaphore, requests[0])  # writes the prefix cache
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(one(request)) for request in requests[1:]]
            except* (ConfigError, DeepeyesError) as errors:
                raise errors.exceptions[0] from None
            if self._budget_limit is not None and any(task.result() is None for task in tasks):
                raise self._budget_error()
            return [first, *(task.result() for task in tasks)]
        finally:
            if self._http_client is None:
                await client.close()

    # -- budget ----------------------------------------------------------------------------------------

    def _take_budget(self, params: dict[str, Any]) -> int:
        """Count one paid request and reserve its input tokens (estimated at one per three characters
        of its JSON); the estimate, or :class:`BudgetExhausted` when the budget cannot take it (then
        no later request is made either)."""
        opts = self.options
        estimate = len(json.dumps(params, ensure_ascii=False)) // _CHARS_PER_TOKEN + 1
        if self._budget_limit is None:
            spent = self.usage.total_input_tokens + self._reserved_tokens
            self._budget_limit = over_budget(
                self.usage.calls_started, spent, estimate, opts.max_calls, opts.max_input_tokens
            )
        if self._budget_limit is not None:
            self.usage.budget_exhausted = True
            raise self._budget_error()
        self.usage.calls_started += 1
        self._reserved_tokens += estimate
        return estimate

    def _budget_error(self) -> BudgetExhausted:
        opts = self.options
        return BudgetExhausted(
            f"training backend 'anthropic': budget exhausted (max_calls={opts.max_calls}, "
            f"max_input_tokens={opts.max_input_tokens}; {self._budget_limit} reached after "
            f"{self.usage.calls_started} paid requests): {self._stored + self.usage.cached} answers so far are "
            "cached; raise the budget and rerun, cached answers are not paid again"
        )

    async def _create(self, client: Any, semaphore: asyncio.Semaphore, params: dict[str, Any]) -> Any:
        """One Messages call, its usage recorded; an API failure after the SDK's retries stops the run."""
        opts = self.options
        anthropic = import_anthropic("training backend 'anthropic'")
        async with semaphore:
            estimate = self._take_budget(params)
            try:
                message = await client.messages.create(**params)
            except (anthropic.APIError, ValueError) as exc:  # ValueError: a body that is not JSON
                fatal = fatal_api_error(exc, self._model or "", self._config_key, self._api_key)
                if fatal is not None:
                    raise fatal from None
                self.usage.failed_calls += 1
                raise DeepeyesError(
                    scrub(
                        "training backend 'anthropic': no usable answer from the API (after up to "
                        f"{opts.max_retries} retries) ({type(exc).__name__}: {exc}); answers so far are cached: "
                        "run again to go on",
                        self._api_key,
                    )
                ) from None
            finally:
                self._reserved_tokens -= estimate
        self.usage.record(message.usage, "interactive")
        if any(block.get("cache_control") for block in params["system"]):
            self._probe.observe(message.usage)
        return message

    def _text_request(
        self, system: list[dict[str, Any]], prompt: str, draw: dict[str, Any] | None = None
    ) -> SampleRequest:
        opts = self.options
        params: dict[str, Any] = {
            "model": self._model,
            "max_tokens": opts.max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": prompt}],
        }
        names: dict[str, str] = {}
        if opts.tool_format == "tools":
            params["tools"], names = self._tools()
            params["tool_choice"] = {"type": "any"}
        return SampleRequest(_TEXT_V, params, names, self._key(_TEXT_V, params, draw))

    async def _fetch(self, client: Any, semaphore: asyncio.Semaphore, request: SampleRequest) -> Any:
        """The request's value (answer text or calls): from the disk cache, else paid for and cached."""
        cached = self._cached(request)
        if cached is not None:
            return cached
        return self._keep(request, await self._create(client, semaphore, request.params))

    def _cached(self, request: SampleRequest) -> Any:
        """The cached value of the request (counted in ``usage.cached``), or None."""
        entry = self.cache.get(request.key) or {}
        if request.version == _TEXT_V and isinstance(entry.get("answer"), str):
            value: Any = entry["answer"]
        elif request.version == _STEPS_V and isinstance(entry.get("calls"), list):
            value = tuple(ToolCall(name, arguments) for name, arguments in entry["calls"])
        else:
            return None
        self.usage.cached += 1
        return value

    def _keep(self, request: SampleRequest, message: Any) -> Any:
        """The value of the answer ``message``, stored in the request's cache entry."""
        entry: dict[str, Any] = {"version": request.version, "model": self._model}
        value: Any
        if request.version == _TEXT_V:
            value = entry["answer"] = self._completion(message, request.names)
        else:
            value = self._calls(message, request.names)
            entry["calls"] = [[call.name, call.arguments] for call in value]
        self.cache.put(request.key, entry)
        self._stored += 1
        return value

    # -- step-level evaluation -------------------------------------------------------------------------

    async def generate_steps(self, model: str, prompts: Sequence[StepPrompt]) -> list[tuple[ToolCall, ...]] | None:
        """The calls Claude makes next in each step prompt: the history replayed as Messages turns
        (the assistant's ``tool_use`` blocks, then a user turn of ``tool_result`` blocks with the real
        results and errors), the tools offered as Messages ``tools`` (``tool_choice: auto``: it may
        also answer in text), the trained model with its demonstrations behind the cache breakpoint."""
        if model == "trained" and not self.trained:
            return None
        if self._model is None:
            return None
        demonstrations = self.demonstrations if model == "trained" else []
        system = self._system(demonstrations, [], self._layout, _STEP_INSTRUCTIONS)
        return await self._gather([self._step_request(system, prompt) for prompt in prompts])

    def _step_request(
        self, system: list[dict[str, Any]], prompt: StepPrompt, draw: dict[str, Any] | None = None
    ) -> SampleRequest:
        tools, names = self._tools(_merge(self.catalogue, prompt.history.tools))
        api_names = {original: api for api, original in names.items()}
        params: dict[str, Any] = {
            "model": self._model,
            "max_tokens": self.options.max_tokens,
            "system": system,
            "messages": _replay(prompt.history, api_names),
            "tools": tools,
            "tool_choice": {"type": "auto"},
        }
        return SampleRequest(_STEPS_V, params, names, self._key(_STEPS_V, params, draw))

    # -- sampling the base model (routing) ------------------------------------------------------------

    @staticmethod
    def _key(version: str, params: dict[str, Any], draw: dict[str, Any] | None) -> str:
        """The cache key: the request; for a sample, also its temperature, index and seed."""
        return content_key(version, params) if draw is None else content_key(version, params, draw)

    def _base(self, sampling: Sampling, settings: TrainingSettings) -> None:
        """Name the base model before training (``model``, else the trainer's ``model_id``)."""
        if sampling.temperature != 1.0:
            raise ConfigError(
                f"training backend 'anthropic': the Messages API (version 2026-10-21, SDK 2.x) takes no sampling "
                f"parameters and answers at the model's own temperature, so temperature {sampling.temperature} "
                "cannot be asked for; set [router] temperature = 1.0"
            )
        if self._model is None:
            check_model(settings.model_id, "[trainer] model_id")
            self._model = self.usage.model = self._probe.model = settings.model_id

    async def _draws(
        self, items: Sequence[Any], sampling: Sampling, request: Callable[[Any, dict[str, Any]], SampleRequest]
    ) -> list[list[Any]]:
        """``sampling.samples`` values per item, by request or (``batch``) through Message Batches."""
        k = sampling.samples
        requests = [request(item, {"temperature": sampling.temperature, "sample": j, "seed": sampling.seed})
                    for item in items for j in range(k)]
        flat = await (self._batched(requests) if self.options.batch else self._gather(requests))
        return [flat[i * k:(i + 1) * k] for i in range(len(items))]

    async def sample(self, prompts: Sequence[str], sampling: Sampling, settings: TrainingSettings) -> list[list[str]]:
        """``sampling.samples`` answers of the base model per blind prompt (no demonstrations)."""
        self._base(sampling, settings)
        if self.options.tool_format == "tools":
            raise ConfigError(
                "training backend 'anthropic': routing by pass rate on blind prompts needs tool_format = \"text\" "
                "(the tool catalogue is known only after training)"
            )
        system = self._system([], [], settings.prompt_layout)
        return await self._draws(prompts, sampling, lambda prompt, draw: self._text_request(system, prompt, draw))

    async def sample_steps(
        self, prompts: Sequence[StepPrompt], sampling: Sampling, settings: TrainingSettings
    ) -> list[list[tuple[ToolCall, ...]]]:
        """``sampling.samples`` next steps of the base model per step prompt (no demonstrations)."""
        self._base(sampling, settings)
        system = self._system([], [], settings.prompt_layout, _STEP_INSTRUCTIONS)
        return await self._draws(prompts, sampling, lambda prompt, draw: self._step_request(system, prompt, draw))

    @staticmethod
    def _calls(message: Any, names: dict[str, str]) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(names.get(block.name, block.name), dict(block.input) if isinstance(block.input, dict) else {})
            for block in getattr(message, "content", None) or ()
            if getattr(block, "type", "") == "tool_use"
        )

    @classmethod
    def _completion(cls, message: Any, names: dict[str, str]) -> str:
        calls = cls._calls(message, names)
        return _render_calls(calls) if calls else message_text(message)


@hookimpl
def deepeyes_training_backends():
    return [AnthropicBackend]
