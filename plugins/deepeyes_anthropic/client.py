"""The Anthropic API as both Claude components use it: key, model checks, SDK client, errors, answer text."""

from __future__ import annotations

import os
from typing import Any

from deepeyes_core import ConfigError, DeepeyesError, MissingExtraError

DEFAULT_MODEL = "claude-haiku-4-5"
#: Retired model ids: (replacement, retirement date).
RETIRED_MODELS = {"claude-3-5-haiku-20241022": ("claude-haiku-4-5", "2026-02-19")}
#: The shortest prefix each model caches, in tokens (prefix match on the id). Others: unknown.
MIN_CACHEABLE_TOKENS = {"claude-haiku-4-5": 4096, "claude-opus-4-5": 4096, "claude-opus-4-6": 4096}


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


def message_text(message: Any) -> str:
    """The text blocks of a Message, joined; '' when it has none."""
    blocks = getattr(message, "content", None) or ()
    return "".join(getattr(block, "text", None) or "" for block in blocks if getattr(block, "type", "") == "text")


class BudgetExhausted(DeepeyesError):
    """A paid request that the budget (``max_calls``, ``max_input_tokens``) cannot take: not made."""


def over_budget(
    calls_started: int, input_tokens: int, estimate: int, max_calls: int | None, max_input_tokens: int | None
) -> str | None:
    """The limit one more call of ``estimate`` input tokens would cross ("max_calls=N" or
    "max_input_tokens=N"), or None when it fits; ``input_tokens`` counts those spent and reserved."""
    if max_calls is not None and calls_started + 1 > max_calls:
        return f"max_calls={max_calls}"
    if max_input_tokens is not None and input_tokens + estimate > max_input_tokens:
        return f"max_input_tokens={max_input_tokens}"
    return None
