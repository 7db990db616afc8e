"""The ``anthropic`` argument generator: Claude proposes realistic arguments for a tool from its schema.

**Request.** One Messages call per tool (per distinct definition, count and seed): the system
prompt holds the instructions, the user message the tool's name, description and JSON Schema and
how many argument objects to propose. Claude answers through a forced tool call
(``propose_arguments``, whose input is ``{"calls": [<the tool's schema>, ...]}``; the schema's
``$defs`` are lifted to the root so its references still resolve), so the answer is JSON by
construction.

**Checks.** Each proposal is validated against the tool's schema with ``jsonschema`` (it comes
with ``deepeyes[mcp]``); proposals that fail, and any missing to reach ``count``, are made by the
``schema`` generator (valid cases only) and counted in ``usage.fallbacks``, so a run always gets
``count`` objects. Invalid cases are the ``schema`` generator's job: this one proposes valid ones.

**Cache, budget, errors** (as the ``anthropic`` describer's). The answer is cached on disk
(``cache_dir``) under a SHA-256 of the prompt version, model, max_tokens, tool definition, count
and seed: a rerun pays nothing and gets the same arguments. ``max_calls`` and ``max_input_tokens``
bound the generator's life; a call that would cross them is not made and the ``schema`` generator
answers (``usage.budget_exhausted``). An unknown model or a refused key is a ConfigError; any other
API error, after the SDK's retries, falls back to the ``schema`` generator (``usage.failed_calls``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import attrs

from deepeyes_core import (
    InputError,
    MissingExtraError,
    ToolSpec,
    get_plugin_manager,
    hookimpl,
    tool_definition,
)

from .cache import DiskCache, content_key, default_cache_dir
from .client import (
    DEFAULT_MODEL,
    check_model,
    fatal_api_error,
    import_anthropic,
    make_client,
    resolve_api_key,
    scrub,
)
from .usage import AnthropicUsage, Prices

log = logging.getLogger(__name__)

PROMPT_VERSION = "arguments-1"
TOOL_NAME = "propose_arguments"
INSTRUCTIONS = (
    "You write test inputs for a tool that an AI agent can call. Given the tool's name, description and "
    "JSON Schema of its arguments, propose argument objects a real user's request would lead to: "
    "realistic values (real-looking names, paths, queries, dates, amounts), varied from one object to "
    "the next, each valid against the schema (every required property, the declared types, enums and "
    f"ranges). Answer by calling {TOOL_NAME} once with exactly the number of objects asked for."
)
_CHARS_PER_TOKEN = 3.0


def _answer_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    """``{"calls": [parameters...]}``, with the tool schema's ``$defs`` lifted to the root."""
    item = {k: v for k, v in parameters.items() if k not in ("$defs", "definitions")}
    schema: dict[str, Any] = {"type": "object", "properties": {"calls": {"type": "array", "items": item}},
                              "required": ["calls"]}
    for key in ("$defs", "definitions"):
        if key in parameters:
            schema[key] = parameters[key]
    return schema


class AnthropicArguments:
    """Claude proposes realistic arguments from each tool's schema (validated; cached on disk; budgeted)."""

    name = "anthropic"

    @attrs.frozen
    class Options:
        model: str = DEFAULT_MODEL
        #: Prefer ANTHROPIC_API_KEY; a key here is never written out by deepeyes' components.
        api_key: str | None = attrs.field(default=None, repr=False)
        base_url: str | None = None
        max_retries: int = attrs.field(default=4, validator=attrs.validators.ge(0))
        timeout_s: float = 120.0
        max_tokens: int = 4096
        max_calls: int | None = None
        max_input_tokens: int | None = None
        cache_dir: str | None = None
        prices: Prices = attrs.field(factory=Prices)

    def __init__(self, options: Options | None = None, *, http_client: Any = None):
        options = options or self.Options()
        self.options = options
        self._component = f"argument generator {self.name!r}"
        self._api_key = resolve_api_key(options.api_key, self._component)
        check_model(options.model, "[baseline.arguments] model")
        import_anthropic(self._component)
        self._http_client = http_client
        self.cache = DiskCache(options.cache_dir or default_cache_dir())
        self.usage = AnthropicUsage(model=options.model, prices=options.prices)
        self._fallback: Any = None

    async def arguments(self, tool: ToolSpec, count: int, seed: int) -> list[dict[str, Any]]:
        definition = tool_definition(tool)
        user = (
            f"Tool definition:\n{json.dumps(definition, indent=2, sort_keys=True)}\n\n"
            f"Propose {count} argument objects (variation seed {seed})."
        )
        key = content_key(PROMPT_VERSION, self.options.model, self.options.max_tokens, INSTRUCTIONS, user)
        entry = self.cache.get(key)
        if entry is not None and isinstance(entry.get("calls"), list):
            self.usage.cached += 1
            proposed = entry["calls"]
        else:
            proposed = await self._ask(tool, user, key)
        valid = [args for args in proposed if self._valid(tool, args)][:count]
        if len(valid) < count:
            self.usage.fallbacks += count - len(valid)
            filler = await self._schema().arguments(tool, count, seed)
            valid += filler[len(valid):]
        return valid

    async def _ask(self, tool: ToolSpec, user: str, key: str) -> list[Any]:
        params = {
            "model": self.options.model,
            "max_tokens": self.options.max_tokens,
            "system": INSTRUCTIONS,
            "messages": [{"role": "user", "content": user}],
            "tools": [{"name": TOOL_NAME, "description": "Propose argument objects for the tool.",
                       "input_schema": _answer_schema(tool.parameters)}],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
        }
        if not self._take_budget(int((len(INSTRUCTIONS) + len(user) + len(json.dumps(params["tools"]))) / _CHARS_PER_TOKEN) + 1):
            return []
        anthropic = import_anthropic(self._component)
        client = make_client(self._component, self._api_key, self.options.base_url, self.options.max_retries,
                             self.options.timeout_s, self._http_client)
        try:
            message = await client.messages.create(**params)
        except anthropic.APIError as exc:
            fatal = fatal_api_error(exc, self.options.model, "[baseline.arguments] model", self._api_key)
            if fatal is not None:
                raise fatal from None
            self.usage.failed_calls += 1
            log.warning("%s: %s for tool %r; the schema generator answers", self._component,
                        scrub(f"{type(exc).__name__}: {exc}", self._api_key)[:300], tool.name)
            return []
        finally:
            if self._http_client is None:
                await client.close()
        self.usage.record(message.usage, "interactive")
        calls: list[Any] = []
        for block in message.content:
            if getattr(block, "type", "") == "tool_use" and block.name == TOOL_NAME and isinstance(block.input, dict):
                calls = block.input.get("calls") if isinstance(block.input.get("calls"), list) else []
        self.cache.put(key, {"version": PROMPT_VERSION, "model": self.options.model, "calls": calls})
        return calls

    def _take_budget(self, estimate: int) -> bool:
        o, u = self.options, self.usage
        if u.budget_exhausted or (o.max_calls is not None and u.calls_started + 1 > o.max_calls) or (
            o.max_input_tokens is not None and u.total_input_tokens + estimate > o.max_input_tokens
        ):
            if not u.budget_exhausted:
                log.warning("%s: budget exhausted (max_calls=%s, max_input_tokens=%s); the schema generator answers",
                            self._component, o.max_calls, o.max_input_tokens)
            u.budget_exhausted = True
            return False
        u.calls_started += 1
        return True

    def _valid(self, tool: ToolSpec, arguments: Any) -> bool:
        try:
            import jsonschema
        except ImportError as exc:
            raise MissingExtraError(self._component, "mcp", "jsonschema") from exc
        if not isinstance(arguments, dict):
            return False
        try:
            validator = jsonschema.validators.validator_for(tool.parameters)
            validator.check_schema(tool.parameters)
        except jsonschema.SchemaError as exc:
            raise InputError(f"tool {tool.name!r}: its argument schema is not a valid JSON Schema: {exc.message}") from exc
        return validator(tool.parameters).is_valid(arguments)

    def _schema(self) -> Any:
        if self._fallback is None:
            self._fallback = get_plugin_manager().build("argument_generator", "schema", {"invalid_ratio": 0.0})
        return self._fallback


@hookimpl
def deepeyes_argument_generators():
    return [AnthropicArguments]
