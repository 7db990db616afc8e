"""The extra exporters of issue 3: anthropic-messages, bedrock-claude, openai-chat, trl, sharegpt.

Each writes valid records that round-trip, refuses a record that breaks one of its consumer's rules
(naming the example's task_id and the rule) before writing anything, and keeps the example's id,
difficulty and provenance where its format allows.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import types
from pathlib import Path

import pytest

from deepeyes_core import (
    CHAT_SYSTEM_PROMPT,
    DatasetError,
    Location,
    MissingExtraError,
    PluginManager,
    Step,
    StepCall,
    ToolResult,
    ToolSpec,
    TrainingExample,
)
from deepeyes_core.errors import ConfigError
from deepeyes_core.plugins import BUILTIN_PLUGINS

MODULES = (
    "deepeyes_anthropic.exporters",
    "deepeyes_openai.exporters",
    "deepeyes_trl.exporters",
    "deepeyes_builtin.sharegpt",
)
FORMATS = ("anthropic-messages", "bedrock-claude", "openai-chat", "trl", "sharegpt")

SEARCH = ToolSpec(
    "web_search",
    {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["query"],
    },
    "Search the web",
)
FETCH = ToolSpec("http_get", {"type": "object", "properties": {"url": {"type": "string"}}})
SUMMARISE = ToolSpec(
    "summarize", {"type": "object", "properties": {"text": {"type": "string"}, "style": {"type": "string"}}}
)
TOOLS = (SEARCH, FETCH, SUMMARISE)


def result(i: int, n: int) -> ToolResult:
    """The logged outcome of call ``n`` of example ``i``: a JSON result, or (every 7th example's
    second call) a failure with no result and its error text."""
    if i % 7 == 3 and n == 1:
        return ToolResult(None, True, f"timeout after {i} s")
    return ToolResult(f'{{"hits":{i + n},"page":"p{i}-{n}"}}')


def example(i: int, **changes) -> TrainingExample:
    """Example ``i``: 1 to 3 calls with arguments whose keys differ from tool to tool; with 3
    calls the first two were made together (one step); every other example has a final answer."""
    calls = [
        ("web_search", {"query": f"term {i}", "limit": i % 5 + 1}),
        ("http_get", {"url": f"https://example.org/{i}"}),
        ("summarize", {"text": 'héllo "quoted" text', "style": "short"}),
    ][: 1 + i % 3]
    made = [StepCall(name, args, f"inv:{i}-{n}", result(i, n)) for n, (name, args) in enumerate(calls)]
    groups = [made[:2], made[2:]] if len(made) == 3 else [[call] for call in made]
    fields = {
        "task_id": f"task:{i:04d}",
        "task_description": f"Find and summarise page {i}",
        "tool_sequence": tuple(name for name, _ in calls),
        "tool_parameters": tuple(args for _, args in calls),
        "expected_result": '{"summary": "done"}',
        "difficulty": ("easy", "medium", "medium")[i % 3],
        "agent": "researcher",
        "tools": TOOLS,
        "session_id": f"s{i}",
        "locations": (Location("logs/invocations.jsonl", 10 + i),),
        "steps": tuple(Step(tuple(group), "let me check" if k == 0 and i % 4 == 0 else None) for k, group in enumerate(groups)),
        "final_answer": f"Page {i} summarised." if i % 2 == 0 else None,
    }
    fields.update(changes)
    return TrainingExample(**fields)


def make_splits(train: int = 34, val: int = 4, test: int = 4) -> dict[str, list[TrainingExample]]:
    examples = [example(i) for i in range(train + val + test)]
    return {"train": examples[:train], "val": examples[train : train + val], "test": examples[train + val :]}


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    return PluginManager(load_entry_points=False, builtins=tuple(dict.fromkeys(BUILTIN_PLUGINS + MODULES)))


HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


def build(manager: PluginManager, name: str, **options):
    if name == "openai-chat":
        options.setdefault("token_counter", "approximate")  # no encoding download in tests
    if name == "trl" and not HAS_PYARROW:
        options.setdefault("parquet", False)  # Parquet is tested where pyarrow is installed
    return manager.build("exporter", name, options)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------------------------
# all formats
# --------------------------------------------------------------------------------------------


def test_every_format_is_registered_by_its_plugin_module(manager):
    assert set(FORMATS) <= set(manager.components("exporter"))
    for name in FORMATS:
        info = manager.get("exporter", name)
        assert info.summary, f"{name} needs a docstring"


def test_a_wrong_option_is_a_config_error_naming_the_exporter(manager):
    with pytest.raises(ConfigError, match="openai-chat"):
        manager.build("exporter", "openai-chat", {"token_counter": "words"})
    with pytest.raises(ConfigError, match="trl"):
        manager.build("exporter", "trl", {"parquet_files": True})


@pytest.mark.parametrize("name", FORMATS)
def test_valid_splits_are_written_under_the_format_folder_and_round_trip(manager, tmp_path, name):
    splits = make_splits()
    exporter = build(manager, name)
    files = exporter.export(splits, tmp_path, "catalogue")
    for split, examples in splits.items():
        path = files[split]
        assert path.parent == tmp_path / name and path.name == f"sft_{split}.jsonl"
        rows = read_jsonl(path)
        assert len(rows) == len(examples)
        for row, ex in zip(rows, examples):
            assert exporter.check(row) == [], (name, ex.task_id)
            assert ex.task_description in json.dumps(row, ensure_ascii=False)
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("name", FORMATS)
def test_an_invalid_example_is_refused_by_task_id_before_anything_is_written(manager, tmp_path, name):
    splits = make_splits()
    splits["test"].append(example(99, difficulty="extreme"))
    with pytest.raises(DatasetError, match=r"'task:0099' \(split 'test'\).*difficulty 'extreme'"):
        build(manager, name).export(splits, tmp_path, "catalogue")
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["anthropic-messages", "openai-chat", "trl", "sharegpt"])
def test_a_call_to_an_undeclared_tool_is_refused(manager, tmp_path, name):
    splits = make_splits()
    splits["val"][1] = example(35, tools=(FETCH,))
    with pytest.raises(DatasetError, match=r"'task:0035' \(split 'val'\).*'web_search'.*(declared|tools)"):
        build(manager, name).export(splits, tmp_path, "task")
    assert not (tmp_path / name).exists()


# --------------------------------------------------------------------------------------------
# anthropic-messages
# --------------------------------------------------------------------------------------------


def test_anthropic_messages_records_hold_tool_use_and_tool_result_blocks(manager, tmp_path):
    splits = make_splits()
    files = build(manager, "anthropic-messages").export(splits, tmp_path, "catalogue")
    ex = splits["train"][2]  # three calls: two made together, then one; a final answer
    record = read_jsonl(files["train"])[2]
    assert record["system"] == [
        {"type": "text", "text": CHAT_SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}
    ]
    assert [t["name"] for t in record["tools"]] == ["web_search", "http_get", "summarize"]
    assert record["tools"][0] == {
        "name": "web_search",
        "description": "Search the web",
        "input_schema": SEARCH.parameters,
    }
    user, step1, results1, step2, results2, answer = record["messages"]
    assert user == {"role": "user", "content": ex.task_description}
    calls = [call for step in ex.steps for call in step.calls]
    assert [(b["type"], b["id"], b["name"], b["input"]) for b in step1["content"]] == [
        ("tool_use", "inv_2-0", calls[0].name, calls[0].arguments),
        ("tool_use", "inv_2-1", calls[1].name, calls[1].arguments),
    ]
    # the results of the calls made together come in ONE user message, each the real result
    assert results1["content"] == [
        {"type": "tool_result", "tool_use_id": "inv_2-0", "content": calls[0].result.content, "is_error": False},
        {"type": "tool_result", "tool_use_id": "inv_2-1", "content": calls[1].result.content, "is_error": False},
    ]
    assert [b["id"] for b in step2["content"]] == ["inv_2-2"]
    assert results2["content"][0]["content"] == calls[2].result.content
    assert answer == {"role": "assistant", "content": [{"type": "text", "text": "Page 2 summarised."}]}
    assert "ok" not in json.dumps(record["messages"])
    meta = record["metadata"]
    assert (meta["task_id"], meta["difficulty"], meta["provenance"]) == (
        "task:0002",
        "medium",
        ["logs/invocations.jsonl:12"],
    )


def test_anthropic_messages_write_step_text_errors_and_refuse_a_missing_result(manager):
    exporter = build(manager, "anthropic-messages")
    first = exporter.record(example(0), "task")["messages"][1]["content"]
    assert first[0] == {"type": "text", "text": "let me check"} and first[1]["type"] == "tool_use"
    failed = exporter.record(example(10), "task")["messages"][4]["content"][0]
    assert failed == {"type": "tool_result", "tool_use_id": "inv_10-1", "content": "timeout after 10 s", "is_error": True}
    calls = (StepCall("web_search", {"query": "q"}, "c1", ToolResult("[]")), StepCall("http_get", {"url": "u"}, "c2"))
    missing = exporter.record(example(4, steps=(Step(calls),)), "task")
    assert exporter.check(missing) == ["messages[2].content[1]: call 'c2' has no recorded result (the log has none)"]


def test_anthropic_messages_can_end_on_the_tool_result_turn(manager, tmp_path):
    exporter = build(manager, "anthropic-messages", final_answer=False)
    record = exporter.record(example(0), "task")
    assert [m["role"] for m in record["messages"]] == ["user", "assistant", "user"]
    assert record["messages"][-1]["content"][0]["content"] == '{"hits":0,"page":"p0-0"}'
    assert exporter.check(record) == []
    # without a final answer in the log, the record ends on the last results too
    plain = build(manager, "anthropic-messages").record(example(1), "task")
    assert [m["role"] for m in plain["messages"]] == ["user", "assistant", "user", "assistant", "user"]


def test_anthropic_messages_checks_the_messages_api_rules(manager):
    exporter = build(manager, "anthropic-messages")
    good = exporter.record(example(2), "task")
    assert exporter.check(good) == []

    def broken(mutate) -> list[str]:
        record = json.loads(json.dumps(good))
        mutate(record)
        return exporter.check(record)

    assert any(
        "must alternate" in p
        for p in broken(lambda r: r["messages"].insert(1, {"role": "user", "content": "again"}))
    )
    assert any("no tool_result" in p for p in broken(lambda r: r["messages"][2]["content"].pop()))
    assert any(
        "must match ^[a-zA-Z0-9_-]+$" in p
        for p in broken(lambda r: r["messages"][1]["content"][0].update(id="toolu 1"))
    )
    assert any("cache_control" in p for p in broken(lambda r: r["system"][0].pop("cache_control")))
    assert any(
        "must be non-empty" in p for p in broken(lambda r: r["messages"][5]["content"][0].update(text=""))
    )
    assert any("first message" in p for p in broken(lambda r: r["messages"].pop(0)))
    assert any("is_error: must be a boolean" in p for p in broken(lambda r: r["messages"][2]["content"][0].update(is_error="no")))
    assert any("declared twice" in p for p in broken(lambda r: r["tools"].append(r["tools"][0])))


def test_anthropic_messages_refuses_a_tool_name_the_api_refuses(manager, tmp_path):
    bad = ToolSpec("web search!", {"type": "object", "properties": {}})
    splits = make_splits()
    splits["train"][0] = example(0, tool_sequence=("web search!",), tool_parameters=({},), tools=(bad,))
    with pytest.raises(DatasetError, match=r"'task:0000'.*must match \^\[a-zA-Z0-9_-\]\{1,64\}\$"):
        build(manager, "anthropic-messages").export(splits, tmp_path, "task")
    assert not (tmp_path / "anthropic-messages").exists()


# --------------------------------------------------------------------------------------------
# bedrock-claude
# --------------------------------------------------------------------------------------------


def test_bedrock_records_alternate_carry_no_other_keys_and_keep_metadata_beside(manager, tmp_path, caplog):
    splits = make_splits()
    with caplog.at_level(logging.WARNING):
        files = build(manager, "bedrock-claude").export(splits, tmp_path, "catalogue")
    assert "end of life" in caplog.text and "2026-09-10" in caplog.text
    records = read_jsonl(files["train"])
    for record in records:
        assert set(record) == {"system", "messages"}
        roles = [m["role"] for m in record["messages"]]
        assert roles[-1] == "assistant" and roles == ["user", "assistant"] * (len(roles) // 2)
    ex, record = splits["train"][2], records[2]
    calls = [call for step in ex.steps for call in step.calls]
    assert record["messages"] == [
        {"role": "user", "content": ex.task_description + "\n\nAvailable tools:\n- web_search(query: string, limit: integer)\n"
         "- http_get(url: string)\n- summarize(text: string, style: string)"},
        {"role": "assistant", "content": 'Tool calls:\nweb_search({"query": "term 2", "limit": 3})\nhttp_get({"url": "https://example.org/2"})'},
        {"role": "user", "content": f"Result of web_search (inv_2-0):\n{calls[0].result.content}\n\nResult of http_get (inv_2-1):\n{calls[1].result.content}"},
        {"role": "assistant", "content": 'Tool calls:\nsummarize({"text": "héllo \\"quoted\\" text", "style": "short"})'},
        {"role": "user", "content": f"Result of summarize (inv_2-2):\n{calls[2].result.content}"},
        {"role": "assistant", "content": "Page 2 summarised."},
    ]
    # no final answer: the record ends on the last calls (their results would train nothing)
    last = build(manager, "bedrock-claude").record(example(10, final_answer=None), "task")["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant"]
    assert last[2]["content"] == 'Result of web_search (inv_10-0):\n{"hits":10,"page":"p10-0"}'
    with_error = build(manager, "bedrock-claude").record(example(10), "task")["messages"]
    assert with_error[4] == {"role": "user", "content": "Error from http_get (inv_10-1):\ntimeout after 10 s"}
    sidecar = read_jsonl(files["train.metadata"])
    assert [m["task_id"] for m in sidecar] == [ex.task_id for ex in splits["train"]]
    assert sidecar[0]["line"] == 1 and sidecar[0]["provenance"] == ["logs/invocations.jsonl:10"]
    assert sidecar[0]["difficulty"] == "easy"
    assert files["train.metadata"].name == "sft_train.metadata.jsonl"


def test_bedrock_end_of_life_is_in_the_class_docstring():
    from deepeyes_anthropic.exporters import BedrockClaudeExporter

    assert "2026-09-10" in BedrockClaudeExporter.__doc__ and "end of life" in BedrockClaudeExporter.__doc__


def test_bedrock_checks_alternation_roles_and_keys(manager):
    exporter = build(manager, "bedrock-claude", include_system=False)
    good = exporter.record(example(3), "task")
    assert set(good) == {"messages"} and exporter.check(good) == []
    u, a = good["messages"]
    assert any("must alternate" in p for p in exporter.check({"messages": [u, u, a]}))
    assert any("must alternate" in p for p in exporter.check({"messages": [a, u, a]}))
    assert any(
        "last message must be from the assistant" in p for p in exporter.check({"messages": [u, a, u]})
    )
    assert any("at least two messages" in p for p in exporter.check({"messages": [a]}))
    assert any("no extraneous keys" in p for p in exporter.check({**good, "metadata": {}}))
    assert any(
        "exactly the keys role and content" in p
        for p in exporter.check({"messages": [{**u, "name": "x"}, a]})
    )
    assert any("non-empty string" in p for p in exporter.check({"messages": [u, {**a, "content": ""}]}))
    assert any("system: must be a string" in p for p in exporter.check({"system": ["x"], "messages": [u, a]}))


def test_bedrock_refuses_a_record_over_32000_tokens(manager, tmp_path):
    splits = make_splits()
    splits["train"][5] = example(5, task_description="word " * 20_000)
    with pytest.raises(DatasetError, match=r"'task:0005' \(split 'train'\).*tokens \(estimated\).*32,000"):
        build(manager, "bedrock-claude").export(splits, tmp_path, "task")
    assert not (tmp_path / "bedrock-claude").exists()


def test_bedrock_enforces_its_record_counts(manager, tmp_path):
    with pytest.raises(DatasetError, match="train split has 31 records.*at least 32"):
        build(manager, "bedrock-claude").export(make_splits(train=31), tmp_path, "task")
    with pytest.raises(DatasetError, match="val split has 1,001 records.*at most 1,000 validation"):
        build(manager, "bedrock-claude").export(make_splits(val=1001, test=0), tmp_path, "task")
    with pytest.raises(DatasetError, match="train \\+ val hold 38 records.*at most 37"):
        build(manager, "bedrock-claude", max_total_records=37).export(make_splits(), tmp_path, "task")
    assert not (tmp_path / "bedrock-claude").exists()
    # the test split is deepeyes' own: Bedrock takes no test file, so it is not limited
    build(manager, "bedrock-claude").export(make_splits(val=2, test=1200), tmp_path, "task")


# --------------------------------------------------------------------------------------------
# openai-chat
# --------------------------------------------------------------------------------------------


def test_openai_records_hold_tool_calls_with_json_string_arguments(manager, tmp_path):
    splits = make_splits()
    files = build(manager, "openai-chat").export(splits, tmp_path, "catalogue")
    ex = splits["train"][2]
    record = read_jsonl(files["train"])[2]
    assert set(record) == {"messages", "tools"}
    system, user, step1, tool1, tool2, step2, tool3, answer = record["messages"]
    assert system == {"role": "system", "content": CHAT_SYSTEM_PROMPT}
    assert user == {"role": "user", "content": ex.task_description}
    calls = [call for step in ex.steps for call in step.calls]
    assert step1["role"] == "assistant" and step1["content"] is None
    for call, expected, id_ in zip(step1["tool_calls"] + step2["tool_calls"], calls, ["inv_2-0", "inv_2-1", "inv_2-2"]):
        assert call["id"] == id_ and call["type"] == "function"
        assert call["function"]["name"] == expected.name
        assert isinstance(call["function"]["arguments"], str)
        assert json.loads(call["function"]["arguments"]) == expected.arguments
    assert len(step1["tool_calls"]) == 2 and len(step2["tool_calls"]) == 1
    assert [(t["role"], t["tool_call_id"], t["content"]) for t in (tool1, tool2, tool3)] == [
        ("tool", id_, call.result.content) for id_, call in zip(["inv_2-0", "inv_2-1", "inv_2-2"], calls)
    ]
    assert answer == {"role": "assistant", "content": "Page 2 summarised."}
    assert record["tools"][0] == {
        "type": "function",
        "function": {"name": "web_search", "description": "Search the web", "parameters": SEARCH.parameters},
    }
    assert record["tools"][1] == {
        "type": "function",
        "function": {"name": "http_get", "parameters": FETCH.parameters},
    }
    sidecar = read_jsonl(files["train.metadata"])
    assert (sidecar[2]["line"], sidecar[2]["task_id"], sidecar[2]["difficulty"]) == (3, "task:0002", "medium")
    assert sidecar[2]["provenance"] == ["logs/invocations.jsonl:12"]


def test_openai_checks_extend_the_cookbook_checks_to_tools(manager):
    exporter = build(manager, "openai-chat")
    good = exporter.record(example(2), "task")
    assert exporter.check(good) == []

    def broken(mutate) -> list[str]:
        record = json.loads(json.dumps(good))
        mutate(record)
        return exporter.check(record)

    def dict_arguments(record):
        call = record["messages"][2]["tool_calls"][0]["function"]
        call["arguments"] = json.loads(call["arguments"])

    assert any(p.startswith("invalid_tool_call") and "JSON string" in p for p in broken(dict_arguments))
    assert any(
        "holding a JSON object" in p
        for p in broken(lambda r: r["messages"][2]["tool_calls"][0]["function"].update(arguments="[1, 2]"))
    )
    assert any(p.startswith("unrecognized_record_key") for p in broken(lambda r: r.update(metadata={})))
    assert any(
        p.startswith("unrecognized_role") for p in broken(lambda r: r["messages"][1].update(role="human"))
    )
    assert any(p.startswith("missing_content") for p in broken(lambda r: r["messages"][1].update(content="")))
    assert any(
        p.startswith("message_unrecognized_key") for p in broken(lambda r: r["messages"][1].update(extra=1))
    )
    assert any(p.startswith("missing_messages_list") for p in broken(lambda r: r.pop("messages")))
    assert any(
        p.startswith("invalid_tool") for p in broken(lambda r: r["tools"][0]["function"].update(name="a b"))
    )
    assert exporter.check(["not", "a", "dict"]) == ["data_type: the record must be a JSON object"]
    # every call is answered by its tool message, with the real result
    assert any(
        p.startswith("invalid_tool_result") and "no tool message" in p for p in broken(lambda r: r["messages"].pop(4))
    )
    assert any(
        "answers no call" in p for p in broken(lambda r: r["messages"][3].update(tool_call_id="other"))
    )
    assert any("no recorded result" in p for p in broken(lambda r: r["messages"][3].update(content=None)))


def test_openai_refuses_an_example_over_the_token_budget(manager, tmp_path):
    splits = make_splits()
    splits["test"][0] = example(38, task_description="lorem ipsum " * 200)
    with pytest.raises(DatasetError, match=r"'task:0038' \(split 'test'\).*too_many_tokens.*over the 500"):
        build(manager, "openai-chat", max_tokens_per_example=500).export(splits, tmp_path, "task")
    assert not (tmp_path / "openai-chat").exists()


def test_openai_needs_ten_training_examples(manager, tmp_path):
    with pytest.raises(DatasetError, match="train split has 9 examples.*at least 10"):
        build(manager, "openai-chat").export(make_splits(train=9), tmp_path, "task")
    build(manager, "openai-chat", min_train_examples=0).export(make_splits(train=9), tmp_path, "task")


def test_openai_counts_tokens_with_tiktoken_when_it_loads(manager, monkeypatch):
    seen = []

    class Encoding:
        def encode(self, text, disallowed_special=()):
            seen.append(text)
            return text.split()

    fake = types.SimpleNamespace(get_encoding=lambda name: Encoding() if name == "o200k_base" else None)
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    exporter = build(manager, "openai-chat", token_counter="tiktoken")
    record = exporter.record(example(0), "task")  # system, user, step (text + 1 call), tool, answer
    messages = record["messages"]
    assert len(messages) == 5
    words = sum(len(m["content"].split()) for m in messages if isinstance(m.get("content"), str))
    roles = len(messages)
    calls = json.dumps(messages[2]["tool_calls"], separators=(",", ":"), ensure_ascii=False)
    call_id = 1  # the tool message's tool_call_id is one word
    tools = json.dumps(record["tools"], separators=(",", ":"), ensure_ascii=False)
    # 3 a message + 3, the role and content words, the serialised calls, the call id and tools
    expected = 3 * roles + 3 + roles + words + len(calls.split()) + call_id + len(tools.split())
    assert exporter.count_tokens(record) == expected
    assert any("web_search" in text for text in seen)


def test_openai_token_counter_tiktoken_without_tiktoken_names_the_extra(manager, monkeypatch):
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import tiktoken -> ImportError
    with pytest.raises(MissingExtraError, match=r"tiktoken.*deepeyes\[openai\]"):
        build(manager, "openai-chat", token_counter="tiktoken").token_counter()
    auto = build(manager, "openai-chat", token_counter="auto")
    assert auto.token_counter()("abcdef") == 2  # the documented approximation: UTF-8 bytes / 3


# --------------------------------------------------------------------------------------------
# trl
# --------------------------------------------------------------------------------------------


def test_trl_records_write_arguments_tools_and_metadata_as_json_strings(manager, tmp_path):
    splits = make_splits()
    files = build(manager, "trl", parquet=False).export(splits, tmp_path, "catalogue")
    assert set(files) == {"train", "val", "test"}
    ex = splits["train"][2]
    record = read_jsonl(files["train"])[2]
    system, user, step1, tool1, tool2, step2, tool3, answer = record["messages"]
    assert system["content"] == CHAT_SYSTEM_PROMPT and user == {"role": "user", "content": ex.task_description}
    calls = [call for step in ex.steps for call in step.calls]
    assert step1["content"] is None
    assert [c["function"] for c in step1["tool_calls"] + step2["tool_calls"]] == [
        {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False, separators=(",", ":"))}
        for call in calls
    ]
    assert [(t["role"], t["name"], t["tool_call_id"], t["content"]) for t in (tool1, tool2, tool3)] == [
        ("tool", call.name, id_, call.result.content) for id_, call in zip(["inv_2-0", "inv_2-1", "inv_2-2"], calls)
    ]
    assert answer == {"role": "assistant", "content": "Page 2 summarised."}
    assert json.loads(record["tools"])[2] == {
        "type": "function",
        "function": {"name": "summarize", "description": "", "parameters": SUMMARISE.parameters},
    }
    assert record["task_id"] == "task:0002"
    metadata = json.loads(record["metadata"])
    assert metadata["difficulty"] == "medium" and metadata["provenance"] == ["logs/invocations.jsonl:12"]


def test_trl_parquet_stores_arguments_tools_and_metadata_as_json_strings(manager, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    splits = make_splits()
    files = build(manager, "trl").export(splits, tmp_path, "task")
    assert files["val.parquet"] == tmp_path / "trl" / "sft_val.parquet"
    table = pq.read_table(files["train.parquet"])
    assert table.column_names == ["messages", "tools", "task_id", "metadata"]
    # plain strings, no Arrow extension type: every datasets version has a dtype for them
    assert str(table.schema.field("tools").type) == "string"
    assert "extension" not in str(table.schema)
    rows = table.to_pylist()
    assert len(rows) == len(splits["train"])
    for row, ex in zip(rows, splits["train"]):
        calls = [c for m in row["messages"] if m["tool_calls"] for c in m["tool_calls"]]
        assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
            (call.name, call.arguments) for step in ex.steps for call in step.calls
        ]
        assert row["task_id"] == ex.task_id
        assert json.loads(row["metadata"])["provenance"] == [str(loc) for loc in ex.locations]
        assert [t["function"]["name"] for t in json.loads(row["tools"])] == [
            "web_search",
            "http_get",
            "summarize",
        ]


def test_trl_checks_arguments_results_and_the_dataset_type(manager):
    exporter = build(manager, "trl")
    good = exporter.record(example(1), "task")
    assert exporter.check(good) == []
    as_dict = json.loads(json.dumps(good))
    call = as_dict["messages"][2]["tool_calls"][0]["function"]
    call["arguments"] = json.loads(call["arguments"])
    assert any("must be a JSON string of an object" in p for p in exporter.check(as_dict))
    assert any("tools: must be a JSON string" in p for p in exporter.check({**good, "tools": json.loads(good["tools"])}))
    assert any(
        "no assistant message" in p for p in exporter.check({**good, "messages": good["messages"][:2]})
    )
    assert any("another dataset type" in p for p in exporter.check({**good, "prompt": "x"}))
    late_system = {**good, "messages": good["messages"][1:2] + good["messages"][:1] + good["messages"][2:]}
    assert any("only come first" in p for p in exporter.check(late_system))
    missing = json.loads(json.dumps(good))
    missing["messages"][3]["content"] = None
    assert any("no recorded result" in p for p in exporter.check(missing))


def test_trl_parquet_without_pyarrow_names_the_extra_and_writes_nothing(manager, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtraError, match=r"pyarrow.*deepeyes\[trl\]"):
        build(manager, "trl", parquet=True).export(make_splits(), tmp_path, "task")
    assert not (tmp_path / "trl").exists()


# --------------------------------------------------------------------------------------------
# sharegpt
# --------------------------------------------------------------------------------------------


def test_sharegpt_alternates_function_calls_and_observations(manager, tmp_path):
    splits = make_splits()
    files = build(manager, "sharegpt").export(splits, tmp_path, "catalogue")
    ex = splits["train"][2]
    record = read_jsonl(files["train"])[2]
    turns = record["conversations"]
    assert [t["from"] for t in turns] == ["human", "function_call", "observation", "function_call", "observation", "gpt"]
    assert turns[0]["value"] == ex.task_description and turns[-1]["value"] == "Page 2 summarised."
    calls = [call for step in ex.steps for call in step.calls]
    assert all(isinstance(t["value"], str) for t in turns)
    # the two calls made together: one function_call turn holding a list, one observation turn
    assert json.loads(turns[1]["value"]) == [{"name": c.name, "arguments": c.arguments} for c in calls[:2]]
    assert json.loads(turns[2]["value"]) == [calls[0].result.content, calls[1].result.content]
    assert json.loads(turns[3]["value"]) == {"name": calls[2].name, "arguments": calls[2].arguments}
    assert turns[4]["value"] == calls[2].result.content
    assert record["system"] == CHAT_SYSTEM_PROMPT
    tools = json.loads(record["tools"])
    assert tools[0] == {
        "name": "web_search",
        "description": "Search the web",
        "parameters": SEARCH.parameters,
    }
    assert (record["metadata"]["task_id"], record["metadata"]["difficulty"]) == ("task:0002", "medium")
    assert record["metadata"]["provenance"] == ["logs/invocations.jsonl:12"]
    # no final answer: the conversation ends on the last function_call (an even count)
    plain = build(manager, "sharegpt").record(example(1), "task")["conversations"]
    assert [t["from"] for t in plain] == ["human", "function_call", "observation", "function_call"]


def test_sharegpt_registers_each_split_in_dataset_info(manager, tmp_path):
    files = build(manager, "sharegpt", dataset_prefix="agents").export(make_splits(), tmp_path, "task")
    info = json.loads(files["dataset_info"].read_text())
    assert files["dataset_info"] == tmp_path / "sharegpt" / "dataset_info.json"
    assert set(info) == {"agents_train", "agents_val", "agents_test"}
    assert info["agents_val"] == {
        "file_name": "sft_val.jsonl",
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "tools": "tools", "system": "system"},
        "tags": {
            "role_tag": "from",
            "content_tag": "value",
            "user_tag": "human",
            "assistant_tag": "gpt",
            "function_tag": "function_call",
            "observation_tag": "observation",
        },
    }
    for entry in info.values():
        assert (tmp_path / "sharegpt" / entry["file_name"]).is_file()


def test_sharegpt_checks_positions_count_and_function_call_values(manager):
    exporter = build(manager, "sharegpt")
    good = exporter.record(example(1), "task")
    assert exporter.check(good) == []
    turns = good["conversations"]
    assert any(
        "odd positions" in p
        for p in exporter.check({**good, "conversations": [turns[0], turns[2], *turns[1:2], turns[-1]]})
    )
    assert any("odd count" in p for p in exporter.check({**good, "conversations": turns[:-1]}))
    assert any("start with a human turn" in p for p in exporter.check({**good, "conversations": turns[2:]}))
    bad_call = [turns[0], {"from": "function_call", "value": "web_search(query)"}, *turns[2:]]
    assert any(
        'JSON string of {"name", "arguments"}' in p
        for p in exporter.check({**good, "conversations": bad_call})
    )
    string_args = [
        turns[0],
        {"from": "function_call", "value": json.dumps({"name": "web_search", "arguments": "{}"})},
        *turns[2:],
    ]
    assert any(
        "arguments must be a JSON object" in p for p in exporter.check({**good, "conversations": string_args})
    )
    assert any(
        "tools: must be a JSON string" in p for p in exporter.check({**good, "tools": [{"name": "x"}]})
    )
