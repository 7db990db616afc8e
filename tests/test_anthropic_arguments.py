"""The ``anthropic`` argument generator, driven through the real ``anthropic`` SDK over a fake API."""

from __future__ import annotations

import asyncio

import pytest

from deepeyes_core import ConfigError, PluginManager, ToolSpec
from deepeyes_core.plugins import BUILTIN_PLUGINS

anthropic = pytest.importorskip("anthropic")
jsonschema = pytest.importorskip("jsonschema")

from deepeyes_anthropic.arguments import TOOL_NAME, AnthropicArguments

from .test_anthropic_fakeapi import FakeAnthropicAPI

KEY = "sk-ant-api03-TESTKEY-arguments-2b9d"
SEARCH = ToolSpec(
    "search_orders",
    {"type": "object",
     "properties": {"customer": {"$ref": "#/$defs/Customer"}, "status": {"enum": ["open", "shipped"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100}},
     "required": ["customer", "limit"],
     "$defs": {"Customer": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}},
    "Search a shop's orders.",
)
GOOD = [{"customer": {"email": "ana@shop.example"}, "status": "open", "limit": 20},
        {"customer": {"email": "li@shop.example"}, "limit": 5},
        {"customer": {"email": "sam@shop.example"}, "status": "shipped", "limit": 100}]


@pytest.fixture(autouse=True)
def key(monkeypatch):
    import anthropic._base_client as base

    monkeypatch.setattr(base, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


@pytest.fixture
def plugins(monkeypatch) -> PluginManager:
    import deepeyes_core.plugins as module

    manager = PluginManager(load_entry_points=False, builtins=BUILTIN_PLUGINS)
    monkeypatch.setattr(module, "_default", manager)
    return manager


def proposing(calls):
    return lambda body: [{"type": "tool_use", "id": "toolu_01", "name": TOOL_NAME, "input": {"calls": calls}}]


def make(api: FakeAnthropicAPI, tmp_path, **options) -> AnthropicArguments:
    return AnthropicArguments(AnthropicArguments.Options(cache_dir=str(tmp_path / "cache"), **options),
                              http_client=api.client())


def test_claudes_proposals_come_back_and_are_cached(plugins, tmp_path):
    api = FakeAnthropicAPI(proposing(GOOD))
    generator = make(api, tmp_path)
    assert asyncio.run(generator.arguments(SEARCH, 3, seed=11)) == GOOD
    body = api.posts()[0]
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    schema = body["tools"][0]["input_schema"]
    assert schema["properties"]["calls"]["items"]["properties"] == SEARCH.parameters["properties"]
    assert schema["$defs"] == SEARCH.parameters["$defs"]  # lifted, so "#/$defs/Customer" still resolves
    assert "Search a shop's orders." in body["messages"][0]["content"]
    again = make(api, tmp_path)
    assert asyncio.run(again.arguments(SEARCH, 3, seed=11)) == GOOD
    assert len(api.posts()) == 1 and again.usage.cached == 1 and generator.usage.interactive.calls == 1


def test_invalid_or_missing_proposals_are_filled_by_the_schema_generator(plugins, tmp_path):
    bad = {"customer": {"email": "x@y.example"}, "limit": "twenty"}
    api = FakeAnthropicAPI(proposing([GOOD[0], bad]))
    generator = make(api, tmp_path)
    made = asyncio.run(generator.arguments(SEARCH, 4, seed=3))
    assert len(made) == 4 and made[0] == GOOD[0] and bad not in made
    validator = jsonschema.Draft202012Validator(SEARCH.parameters)
    assert all(validator.is_valid(arguments) for arguments in made)
    assert generator.usage.fallbacks == 3


def test_the_budget_stops_calls_and_the_schema_generator_answers(plugins, tmp_path):
    api = FakeAnthropicAPI(proposing(GOOD))
    generator = make(api, tmp_path, max_calls=1)
    asyncio.run(generator.arguments(SEARCH, 3, seed=1))
    other = asyncio.run(generator.arguments(SEARCH, 3, seed=2))
    assert len(api.posts()) == 1 and generator.usage.budget_exhausted
    assert len(other) == 3 and other != GOOD and generator.usage.fallbacks == 3


def test_an_unknown_model_is_a_config_error_and_built_by_name(plugins, tmp_path):
    api = FakeAnthropicAPI(proposing(GOOD), unknown_models=("claude-nope",))
    with pytest.raises(ConfigError, match="claude-nope"):
        asyncio.run(make(api, tmp_path, model="claude-nope").arguments(SEARCH, 2, seed=1))
    built = plugins.build("argument_generator", "anthropic", {"cache_dir": str(tmp_path), "max_calls": 3})
    assert built.options.max_calls == 3 and KEY not in repr(built.options)
