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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from deepeyes_core import (
    ConfigError,
    DeepeyesError,
    MissingExtraError,
    Rejection,
    ToolSpec,
    Trajectory,
    get_plugin_manager,
    hookimpl,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-haiku-4-5"
#: Retired model ids: (replacement, retirement date).
RETIRED_MODELS = {"claude-3-5-haiku-20241022": ("claude-haiku-4-5", "2026-02-19")}
#: The shortest prefix each model caches, in tokens (prefix match on the id). Others: unknown.
MIN_CACHEABLE_TOKENS = {"claude-haiku-4-5": 4096, "claude-opus-4-5": 4096, "claude-opus-4-6": 4096}
#: Message Batches limits: requests per batch, and bytes (256 MB, kept under with a margin).
BATCH_MAX_REQUESTS = 100_000
BATCH_MAX_BYTES = 200 * 1024 * 1024
PROMPT_VERSION = "describe-v1"
_CHARS_PER_TOKEN = 3.0
_CACHE_CONTROL = {"type": "ephemeral"}


# -- shared with the backend: key, model, client, usage, disk cache --------------------------------


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "deepeyes", "anthropic")


def resolve_api_key(api_key: str | None, component: str) -> str:
    """The key from the option, else ``ANTHROPIC_API_KEY``; a ConfigError naming both when neither."""
    key = api_key or os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        raise ConfigError(
            f"{component}: no Anthropic API key: set the environment variable ANTHROPIC_API_KEY "
            "(or the option api_key, which then lives in your config file)"
        )
    return key


def check_model(model: str, config_key: str) -> None:
    """ConfigError for a retired model id, naming its replacement and the config key to change."""
    if model in RETIRED_MODELS:
        replacement, date = RETIRED_MODELS[model]
        raise ConfigError(
            f"model {model!r} was retired by Anthropic on {date}; its replacement is "
            f'{replacement!r}: set {config_key} = "{replacement}"'
        )


def min_cacheable_tokens(model: str) -> int | None:
    for prefix, tokens in MIN_CACHEABLE_TOKENS.items():
        if model == prefix or model.startswith(prefix + "-"):
            return tokens
    return None


def import_anthropic(component: str):
    try:
        import anthropic
    except ImportError as exc:
        raise MissingExtraError(component, "anthropic", "anthropic") from exc
    return anthropic


def make_client(
    component: str, api_key: str, base_url: str | None, max_retries: int, timeout_s: float, http_client: Any = None
):
    anthropic = import_anthropic(component)
    kwargs: dict[str, Any] = {"api_key": api_key, "max_retries": max_retries, "timeout": timeout_s}
    if base_url:
        kwargs["base_url"] = base_url
    if http_client is not None:
        kwargs["http_client"] = http_client
    return anthropic.AsyncAnthropic(**kwargs)


def scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def fatal_api_error(exc: Exception, model: str, config_key: str, secret: str | None) -> ConfigError | None:
    """The configuration error an API error means (unknown model, refused key), or None."""
    status = getattr(exc, "status_code", None)
    message = scrub(str(getattr(exc, "api_message", None) or getattr(exc, "message", exc)), secret)
    kind = getattr(exc, "type", None) or "error"
    if status == 404 or (status == 400 and "model" in message.lower() and kind == "invalid_request_error"):
        hint = f"; its replacement is {RETIRED_MODELS[model][0]!r}" if model in RETIRED_MODELS else ""
        return ConfigError(
            f"the Anthropic API does not serve model {model!r} ({kind}: {message}){hint}; "
            f'change {config_key} (e.g. to "{DEFAULT_MODEL}")'
        )
    if status in (401, 403):
        return ConfigError(
            f"the Anthropic API refused the API key ({kind}: {message}); check ANTHROPIC_API_KEY or the option api_key"
        )
    return None


@attrs.frozen
class Prices:
    """USD per million tokens (defaults: Claude Haiku 4.5 list prices, 5-minute cache writes)."""

    input: float = 1.00
    output: float = 5.00
    cache_write: float = 1.25
    cache_read: float = 0.10
    #: The share of these prices a Message Batches request pays.
    batch_discount: float = 0.5


@attrs.define
class TokenUsage:
    """Requests answered and the tokens they used, as the API's ``usage`` reports them."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def add(self, usage: Any) -> None:
        self.calls += 1
        self.input_tokens += getattr(usage, "input_tokens", 0) or 0
        self.output_tokens += getattr(usage, "output_tokens", 0) or 0
        self.cache_creation_input_tokens += getattr(usage, "cache_creation_input_tokens", 0) or 0
        self.cache_read_input_tokens += getattr(usage, "cache_read_input_tokens", 0) or 0

    def cost(self, prices: Prices) -> float:
        return (
            self.input_tokens * prices.input
            + self.output_tokens * prices.output
            + self.cache_creation_input_tokens * prices.cache_write
            + self.cache_read_input_tokens * prices.cache_read
        ) / 1e6

    def cache_savings(self, prices: Prices) -> float:
        """What prompt caching saved against paying the full input price (writes cost extra)."""
        return (
            self.cache_read_input_tokens * (prices.input - prices.cache_read)
            - self.cache_creation_input_tokens * (prices.cache_write - prices.input)
        ) / 1e6


@attrs.define
class AnthropicUsage:
    """What a describer (or backend) spent: put ``converter.unstructure(usage)`` in the stats."""

    model: str
    prices: Prices = attrs.field(factory=Prices)
    interactive: TokenUsage = attrs.field(factory=TokenUsage)
    batch: TokenUsage = attrs.field(factory=TokenUsage)
    #: Calls started (answered or not); what ``max_calls`` counts.
    calls_started: int = 0
    batches: int = 0
    batch_ids: list[str] = attrs.field(factory=list)
    #: Answers read from the on-disk cache: no call made.
    cached: int = 0
    #: Requests that failed after the SDK's retries (or errored in a batch).
    failed_calls: int = 0
    validation_retries: int = 0
    rejected: int = 0
    fallbacks: int = 0
    budget_exhausted: bool = False
    estimated_cost_usd: float = 0.0
    cache_savings_usd: float = 0.0
    cache_warning: str | None = None

    @property
    def input_tokens(self) -> int:
        return self.interactive.input_tokens + self.batch.input_tokens

    @property
    def total_input_tokens(self) -> int:
        """Every input token billed: uncached, cache writes and cache reads."""
        return sum(
            u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
            for u in (self.interactive, self.batch)
        )

    @property
    def output_tokens(self) -> int:
        return self.interactive.output_tokens + self.batch.output_tokens

    def record(self, usage: Any, mode: str) -> None:
        (self.batch if mode == "batch" else self.interactive).add(usage)
        discount = self.prices.batch_discount
        self.estimated_cost_usd = self.interactive.cost(self.prices) + discount * self.batch.cost(self.prices)
        self.cache_savings_usd = self.interactive.cache_savings(self.prices) + discount * self.batch.cache_savings(
            self.prices
        )


class CacheProbe:
    """Watches responses for proof that the prompt cache works; sets ``usage.cache_warning`` if not."""

    def __init__(self, usage: AnthropicUsage, model: str):
        self.usage = usage
        self.model = model
        self.seen = False
        self.worked = False
        self.prefix_tokens: int | None = None

    def observe(self, api_usage: Any) -> None:
        created = getattr(api_usage, "cache_creation_input_tokens", 0) or 0
        read = getattr(api_usage, "cache_read_input_tokens", 0) or 0
        if created or read:
            self.worked = True
            self.usage.cache_warning = None
        elif not self.seen and not self.worked:
            minimum = min_cacheable_tokens(self.model)
            size = f"of {self.prefix_tokens:,} tokens" if self.prefix_tokens else "too short to cache"
            self.usage.cache_warning = (
                f"the prompt-cache breakpoint sits on a prefix {size}"
                + (f" ({self.model} caches prefixes of {minimum:,} tokens or more)" if minimum else "")
                + ": the first response wrote no cache and read none, so nothing is cached and every "
                "call pays the full input price for the shared prefix"
            )
            log.warning("anthropic: %s", self.usage.cache_warning)
        self.seen = True

    def measured(self, tokens: int) -> None:
        self.prefix_tokens = tokens
        minimum = min_cacheable_tokens(self.model)
        if minimum and tokens < minimum and not self.worked:
            self.usage.cache_warning = (
                f"the prompt-cache breakpoint sits on a prefix of {tokens:,} tokens, below "
                f"{self.model}'s minimum cacheable length of {minimum:,} tokens: nothing will be cached"
            )
            log.warning("anthropic: %s", self.usage.cache_warning)


class DiskCache:
    """One JSON file per key under ``root``, replaced atomically (temporary file + rename)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._counter = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            with open(self._path(key), "rb") as handle:
                value = json.loads(handle.read())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        write_atomically(self._path(key), json.dumps(value, ensure_ascii=False).encode())


_tmp_counter = 0


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a unique temporary name beside ``path`` and rename it into place: a process killed
    mid-write leaves the old file or the new one, never half of one. (No fsync: a power cut may lose
    the newest entries, which are then misses, not corrupt hits.)"""
    global _tmp_counter
    _tmp_counter += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_tmp_counter}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def content_key(*parts: Any) -> str:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def message_text(message: Any) -> str:
    """The text blocks of a Message, joined; '' when it has none."""
    blocks = getattr(message, "content", None) or ()
    return "".join(getattr(block, "text", None) or "" for block in blocks if getattr(block, "type", "") == "text")


# -- prompt ------------------------------------------------------------------------------------------

INSTRUCTIONS = """You write the task descriptions of a tool-use training set. You are shown the tool \
calls an AI agent made, in order (tool, arguments, result), and you write the request a user would \
have sent the agent to get exactly that done.

Rules:
1. Write one to three sentences of plain English, as the user speaking to the agent.
2. Name every argument value the calls need, verbatim: ids, names, numbers, dates, paths, queries. \
The agent must be able to rebuild each call's arguments from your text alone.
3. Say what to do in ordinary words. Never write tool-call syntax: no function name followed by a \
parenthesis, no JSON, no code blocks, no tool names in backticks.
4. Do not state results the calls returned, unless a later call used one as an argument.
5. Answer with the request only: no preamble, no label, no quotation marks.

Example. Calls: 1. tool `weather_lookup`, arguments {"city": "Oslo", "units": "metric"}; \
2. tool `send_message`, arguments {"to": "ana@example.com", "text": "Umbrella day"}.
Request: Check the weather in Oslo in metric units, then message ana@example.com with the text \
Umbrella day."""


def infer_catalogue(trajectories: Sequence[Trajectory]) -> tuple[ToolSpec, ...]:
    """Declared ToolSpecs, else names and argument types inferred from the calls; sorted by name."""
    declared: dict[str, ToolSpec] = {}
    inferred: dict[str, dict[str, set[str]]] = {}
    for trajectory in trajectories:
        for spec in trajectory.tools:
            declared.setdefault(spec.name, spec)
        for inv in trajectory.invocations:
            props = inferred.setdefault(inv.tool_name, {})
            for key, value in inv.parameters.items():
                props.setdefault(key, set()).add(_json_type(value))
    specs = []
    for name in sorted(set(declared) | set(inferred)):
        if name in declared:
            specs.append(declared[name])
        else:
            props = {k: {"type": sorted(t)[0] if len(t) == 1 else sorted(t)} for k, t in sorted(inferred[name].items())}
            specs.append(ToolSpec(name, {"type": "object", "properties": props}))
    return tuple(specs)


def catalogue_text(specs: Sequence[ToolSpec]) -> str:
    lines = [f"- {spec.signature()}" + (f": {spec.description}" if spec.description else "") for spec in specs]
    return "Tools available to the agent:\n" + "\n".join(lines)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "string"
    )


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_trajectory(trajectory: Trajectory, max_result_chars: int) -> str:
    lines = [f"Agent: {trajectory.agent_name}", "Calls, in order:"]
    for i, inv in enumerate(trajectory.invocations, 1):
        status = inv.status.value if hasattr(inv.status, "value") else str(inv.status)
        lines.append(f"{i}. tool `{inv.tool_name}` ({status})")
        lines.append(f"   arguments: {json.dumps(inv.parameters, ensure_ascii=False, sort_keys=True, default=str)}")
        outcome = inv.error if inv.error and inv.result is None else inv.result
        lines.append(f"   result: {_short(outcome, max_result_chars)}")
    lines.append("Write the user's request.")
    return "\n".join(lines)


# -- validation --------------------------------------------------------------------------------------

_STOPWORDS = frozenset(
    "a an the to and or of for with in on at by from into then than that this these those it its is are be "
    "was were will would can could should please me my i we our you your all each every after before as "
    "using use get find show give make set send run check list create update delete fetch look up".split()
)
_CALL_SYNTAX = re.compile(r"[A-Za-z_][\w.\-]*\(|\{\s*\"|```")
_LABEL = re.compile(r"^\s*(?:task|request|user request|user)\s*:\s*", re.IGNORECASE)


def clean_answer(text: str) -> str:
    text = _LABEL.sub("", text.strip()).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    elif text.startswith("“") and text.endswith("”"):
        text = text[1:-1].strip()
    return text


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


@attrs.frozen
class ValidationRules:
    max_chars: int = 1500
    max_value_chars: int = 200
    check_language: bool = True
    min_ascii_letter_share: float = 0.9

    def problem(self, text: str, trajectory: Trajectory) -> str | None:
        """Why ``text`` is not an acceptable task for ``trajectory``; None when it is."""
        if not text.strip():
            return "empty answer"
        if len(text) > self.max_chars:
            return f"too long ({len(text)} characters, at most {self.max_chars})"
        squashed = _squash(text)
        missing, rest = [], squashed
        for leaf in (leaf for inv in trajectory.invocations for leaf in _leaves(inv.parameters)):
            if isinstance(leaf, bool) or leaf is None:
                continue
            if isinstance(leaf, str):
                needle = _squash(leaf)
                if not needle or len(leaf) > self.max_value_chars:
                    continue
                if needle not in squashed:
                    missing.append(leaf)
                rest = rest.replace(needle, " ")
            elif isinstance(leaf, (int, float)):
                forms = {repr(leaf), str(leaf)}
                if isinstance(leaf, int) or float(leaf).is_integer():
                    forms |= {str(int(leaf)), f"{int(leaf):,}"}
                else:
                    forms |= {f"{leaf:g}", f"{leaf:,}"}
                pattern = re.compile(r"(?<![\d.])(?:" + "|".join(re.escape(f) for f in forms) + r")(?![\d])")
                if not pattern.search(squashed):
                    missing.append(leaf)
                rest = pattern.sub(" ", rest)
        if missing:
            shown = ", ".join(json.dumps(v, ensure_ascii=False)[:60] for v in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            return f"does not name the argument value(s) {shown}{more}"
        syntax = _CALL_SYNTAX.search(rest)
        if syntax:
            return f"contains call syntax {syntax.group(0)!r}"
        if self.check_language:
            letters = [c for c in rest if c.isalpha()]
            if not letters:
                return "no words besides the argument values"
            share = sum(c.isascii() for c in letters) / len(letters)
            if share < self.min_ascii_letter_share:
                return f"not English ({share:.0%} of the letters are ASCII)"
            if not any(word in _STOPWORDS for word in re.findall(r"[a-z]+", rest)):
                return "not English (no common English word)"
        return None


# -- the describer -----------------------------------------------------------------------------------


@attrs.define(eq=False)
class _Unit:
    """One distinct request (trajectories with identical content share it)."""

    key: str
    trajectory: Trajectory
    user_text: str
    indices: list[int]
    answers: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    problems: list[str] = attrs.field(factory=list)
    #: Final: "text", "invalid", "budget", "error"; None while calls are still needed.
    outcome: str | None = None
    text: str = ""
    detail: str = ""
    resubmits: int = 0


_MODES = ("auto", "interactive", "batch")
_ON = ("reject", "template")


class AnthropicDescriber:
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
        units: dict[str, _Unit] = {}
        for i, trajectory in enumerate(trajectories):
            user_text = render_trajectory(trajectory, opts.max_result_chars)
            key = content_key(PROMPT_VERSION, opts.model, opts.max_tokens, INSTRUCTIONS, user_text)
            unit = units.get(key)
            if unit is None:
                unit = units[key] = _Unit(key, trajectory, user_text, [])
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

    def _settle(self, unit: _Unit) -> None:
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

    def _next_attempt(self, unit: _Unit) -> int:
        return len(unit.problems)

    def _store(self, unit: _Unit, attempt: int, text: str, mode: str, stop_reason: str | None) -> None:
        unit.answers[str(attempt)] = {"text": text, "mode": mode, "stop_reason": stop_reason}
        self.cache.put(unit.key, {"version": PROMPT_VERSION, "model": self.options.model, "answers": unit.answers})
        if attempt:
            self.usage.validation_retries += 1
        self._settle(unit)

    def _params(self, unit: _Unit, system: list[dict[str, Any]]) -> dict[str, Any]:
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

    def _estimate(self, params: dict[str, Any]) -> int:
        chars = sum(len(b["text"]) for b in params["system"]) + sum(len(m["content"]) for m in params["messages"])
        return int(chars / _CHARS_PER_TOKEN) + 1

    def _take_budget(self, estimate: int) -> bool:
        """Reserve a call of ``estimate`` input tokens; False (and the budget is spent) if it does not fit."""
        opts = self.options
        if self.usage.budget_exhausted:
            return False
        over_calls = opts.max_calls is not None and self.usage.calls_started + 1 > opts.max_calls
        over_tokens = (
            opts.max_input_tokens is not None
            and self.usage.total_input_tokens + self._reserved_tokens + estimate > opts.max_input_tokens
        )
        if over_calls or over_tokens:
            self.usage.budget_exhausted = True
            log.warning(
                "anthropic describer: budget exhausted (%s); no more calls",
                f"max_calls={opts.max_calls}" if over_calls else f"max_input_tokens={opts.max_input_tokens}",
            )
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
        except Exception as exc:  # a measurement only; the calls themselves will tell
            log.info("anthropic describer: count_tokens failed: %s", scrub(str(exc), self._api_key))
            return
        self._probe.measured(max(int(counted.input_tokens) - 1, 0))

    # -- interactive ---------------------------------------------------------------------------------------

    async def _interactive_round(self, client: Any, system: list[dict[str, Any]], todo: list[_Unit]) -> None:
        anthropic = import_anthropic("task describer 'anthropic'")

        async def worker(queue: Iterator[_Unit]) -> None:
            for unit in queue:
                params = self._params(unit, system)
                estimate = self._estimate(params)
                if not self._take_budget(estimate):
                    unit.outcome, unit.detail = "budget", self._budget_detail()
                    continue
                attempt = self._next_attempt(unit)
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

    # -- batches -----------------------------------------------------------------------------------------

    @property
    def _ledger_path(self) -> Path:
        return self.cache.root / "batches.json"

    def _ledger(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self._ledger_path.read_bytes())
        except (OSError, ValueError):
            return []
        return [b for b in data.get("batches", []) if isinstance(b, dict) and "id" in b]

    def _save_ledger(self, batches: list[dict[str, Any]]) -> None:
        write_atomically(self._ledger_path, json.dumps({"batches": batches}, indent=1).encode())

    async def _resume_batches(self, client: Any, units: dict[str, _Unit]) -> None:
        """Poll and collect the in-flight batches (saved by an earlier, interrupted run) that hold
        requests this call needs."""
        for saved in self._ledger():
            wanted = any(
                key in units and units[key].outcome is None and self._next_attempt(units[key]) == attempt
                for key, attempt in saved["requests"].values()
            )
            if saved.get("model") != self.options.model or not wanted:
                continue
            log.info("anthropic describer: resuming batch %s (%d requests)", saved["id"], len(saved["requests"]))
            await self._collect_batch(client, saved, units)

    async def _batch_round(
        self, client: Any, system: list[dict[str, Any]], todo: list[_Unit], units: dict[str, _Unit]
    ) -> None:
        """Submit every request still needed (in batches of at most 100,000 requests / ~200 MB),
        then poll and collect them all concurrently."""
        chunks: list[tuple[list[dict[str, Any]], dict[str, list[Any]], int]] = []
        requests: list[dict[str, Any]] = []
        index: dict[str, list[Any]] = {}
        size = reserved = 0
        for unit in todo:
            params = self._params(unit, system)
            estimate = self._estimate(params)
            if not self._take_budget(estimate):
                unit.outcome, unit.detail = "budget", self._budget_detail()
                continue
            attempt = self._next_attempt(unit)
            custom_id = f"{unit.key[:56]}-a{attempt}"
            request = {"custom_id": custom_id, "params": params}
            request_bytes = len(json.dumps(request, ensure_ascii=False).encode())
            if requests and (len(requests) >= BATCH_MAX_REQUESTS or size + request_bytes > BATCH_MAX_BYTES):
                chunks.append((requests, index, reserved))
                requests, index, size, reserved = [], {}, 0, 0
            requests.append(request)
            index[custom_id] = [unit.key, attempt]
            size += request_bytes
            reserved += estimate
        if requests:
            chunks.append((requests, index, reserved))
        submitted = []
        for requests, index, reserved in chunks:
            saved = await self._submit(client, requests, index, units)
            if saved is None:
                self._reserved_tokens -= reserved
            else:
                submitted.append((saved, reserved))

        async def collect(saved: dict[str, Any], reserved: int) -> None:
            try:
                await self._collect_batch(client, saved, units)
            finally:
                self._reserved_tokens -= reserved

        try:
            async with asyncio.TaskGroup() as group:
                for saved, reserved in submitted:
                    group.create_task(collect(saved, reserved))
        except* (ConfigError, DeepeyesError) as errors:
            raise errors.exceptions[0] from None

    async def _submit(
        self, client: Any, requests: list[dict[str, Any]], index: dict[str, list[Any]], units: dict[str, _Unit]
    ) -> dict[str, Any] | None:
        """Create one batch and save its id before anything else; None when it was not created."""
        anthropic = import_anthropic("task describer 'anthropic'")
        try:
            batch = await client.messages.batches.create(requests=requests)
        except anthropic.APIError as exc:
            fatal = fatal_api_error(exc, self.options.model, "[describer] model", self._api_key)
            if fatal is not None:
                raise fatal from None
            detail = scrub(f"batch not created: {type(exc).__name__}: {exc}", self._api_key)[:500]
            for key, _ in index.values():
                units[key].outcome, units[key].detail = "error", detail
            self.usage.failed_calls += len(requests)
            return None
        saved = {"id": batch.id, "model": self.options.model, "created_at": time.time(), "requests": index}
        self._save_ledger([*self._ledger(), saved])
        self.usage.batches += 1
        self.usage.batch_ids.append(batch.id)
        log.info("anthropic describer: submitted batch %s with %d requests", batch.id, len(requests))
        self._progress("submitted", {"batch_id": batch.id, "requests": len(requests)})
        return saved

    def _progress(self, event: str, details: dict[str, Any]) -> None:
        if self.on_batch_progress is not None:
            self.on_batch_progress(event, details)

    async def _collect_batch(self, client: Any, saved: dict[str, Any], units: dict[str, _Unit]) -> None:
        anthropic = import_anthropic("task describer 'anthropic'")
        batch_id = saved["id"]
        deadline = None if self.options.batch_max_wait_s is None else time.monotonic() + self.options.batch_max_wait_s
        try:
            batch = await client.messages.batches.retrieve(batch_id)
            while batch.processing_status != "ended":
                counts = batch.request_counts
                log.info(
                    "anthropic describer: batch %s %s: %d processing, %d succeeded, %d errored",
                    batch_id,
                    batch.processing_status,
                    counts.processing,
                    counts.succeeded,
                    counts.errored,
                )
                self._progress("progress", {"batch_id": batch_id, **counts.model_dump()})
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeepeyesError(
                        f"batch {batch_id} is still {batch.processing_status} after "
                        f"{self.options.batch_max_wait_s}s; its id is saved in {self._ledger_path}: "
                        "run again to resume polling it (nothing is submitted twice)"
                    )
                await asyncio.sleep(self.options.batch_poll_interval_s)
                batch = await client.messages.batches.retrieve(batch_id)
            results = await client.messages.batches.results(batch_id)
        except anthropic.NotFoundError:
            log.warning("anthropic describer: batch %s is unknown to the API; its requests are made again", batch_id)
            self._forget(batch_id)
            return
        except anthropic.APIError as exc:
            raise DeepeyesError(
                scrub(
                    f"polling batch {batch_id} failed ({type(exc).__name__}: {exc}); its id is saved in "
                    f"{self._ledger_path}: run again to resume polling it",
                    self._api_key,
                )
            ) from None
        seen: set[str] = set()
        async for entry in results:
            target = saved["requests"].get(entry.custom_id)
            if target is None:
                continue
            seen.add(entry.custom_id)
            unit = units.get(target[0])
            result = entry.result
            if result.type == "succeeded":
                message = result.message
                self.usage.record(message.usage, "batch")
                self._probe.observe(message.usage)
                if unit is not None and str(target[1]) in unit.answers:
                    continue
                if unit is not None:
                    self._store(unit, target[1], message_text(message), "batch", message.stop_reason)
                else:  # another describe() call's request: keep the answer for it
                    entry_data = self.cache.get(target[0]) or {
                        "version": PROMPT_VERSION,
                        "model": self.options.model,
                        "answers": {},
                    }
                    entry_data["answers"][str(target[1])] = {
                        "text": message_text(message),
                        "mode": "batch",
                        "stop_reason": message.stop_reason,
                    }
                    self.cache.put(target[0], entry_data)
                continue
            self.usage.failed_calls += 1
            if unit is None or unit.outcome is not None:
                continue
            if result.type == "errored":
                error = result.error.error
                text = scrub(f"{error.type}: {error.message}", self._api_key)
                if error.type == "not_found_error" and "model" in error.message.lower():
                    raise ConfigError(
                        f"the Anthropic API does not serve model {self.options.model!r} ({text}); "
                        f'change [describer] model (e.g. to "{DEFAULT_MODEL}")'
                    )
                if error.type in ("invalid_request_error", "authentication_error", "permission_error"):
                    unit.outcome, unit.detail = "error", f"batch request errored: {text}"[:500]
                    continue
                self._resubmit(unit, f"batch request errored: {text}")
            else:
                self._resubmit(unit, f"batch request {result.type}")
        for custom_id, (key, _) in saved["requests"].items():
            unit = units.get(key)
            if custom_id not in seen and unit is not None and unit.outcome is None:
                self._resubmit(unit, "no result in the batch")
        self._forget(batch_id)
        self._progress("ended", {"batch_id": batch_id, "results": len(seen)})

    def _resubmit(self, unit: _Unit, why: str) -> None:
        unit.resubmits += 1
        if unit.resubmits > self.options.batch_max_resubmits:
            unit.outcome, unit.detail = "error", f"{why} (after {unit.resubmits - 1} resubmissions)"

    def _forget(self, batch_id: str) -> None:
        self._save_ledger([b for b in self._ledger() if b["id"] != batch_id])

    # -- answers -----------------------------------------------------------------------------------------

    async def _answers(self, trajectories: Sequence[Trajectory], units: dict[str, _Unit]) -> list[str | Rejection]:
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
