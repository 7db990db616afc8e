"""The shared pieces of the chat exporters in ``deepeyes_core``: outcome text, API-valid call ids,
OpenAI-shaped messages, tool rules, and the tool catalogue's inferred schemas."""

from __future__ import annotations

from deepeyes_core import (
    CALL_ID_PATTERN,
    Step,
    StepCall,
    ToolCatalogue,
    ToolInvocation,
    ToolResult,
    ToolSpec,
    TrainingExample,
    Trajectory,
    call_ids,
    chat_messages,
    conversation,
    outcome_text,
    tool_message_problems,
    tool_problems,
)


def test_outcome_text_is_the_result_else_the_error_else_none():
    assert outcome_text(ToolResult('{"a":1}')) == '{"a":1}'
    assert outcome_text(ToolResult("", False)) == ""
    assert outcome_text(ToolResult("partial", True, "HTTP 500")) == "partial"
    assert outcome_text(ToolResult(None, True, "HTTP 500")) == "HTTP 500"
    assert outcome_text(None) is None


def example(*steps: Step, final: str | None = "done") -> TrainingExample:
    calls = [c for s in steps for c in s.calls]
    return TrainingExample(
        "t", "task", tuple(c.name for c in calls), tuple(c.arguments for c in calls),
        tools=(ToolSpec("a"), ToolSpec("b")), steps=steps, final_answer=final,
    )


def test_call_ids_are_api_valid_and_unique_in_order():
    ex = example(
        Step((StepCall("a", {}, "inv:1", ToolResult("x")), StepCall("b", {}, "inv 1", ToolResult("y")))),
        Step((StepCall("a", {}, "", ToolResult("z")),)),
    )
    ids = call_ids(conversation(ex))
    assert ids == {0: "inv_1", 1: "inv_1_2", 2: "call"}
    assert all(CALL_ID_PATTERN.match(i) for i in ids.values())


def test_chat_messages_are_one_assistant_message_per_step_and_one_tool_message_per_call():
    ex = example(
        Step((StepCall("a", {"k": 1}, "c1", ToolResult("r1")), StepCall("b", {}, "c2", ToolResult(None, True, "boom"))), "thinking"),
        Step((StepCall("a", {"k": 2}, "c3", ToolResult("r3")),)),
    )
    messages = chat_messages(conversation(ex), tool_name=True)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool", "assistant", "tool", "assistant"]
    assert messages[2]["content"] == "thinking" and messages[5]["content"] is None
    assert [c["function"]["arguments"] for c in messages[2]["tool_calls"]] == ['{"k":1}', "{}"]
    assert [(m["tool_call_id"], m["name"], m["content"]) for m in messages if m["role"] == "tool"] == [
        ("c1", "a", "r1"), ("c2", "b", "boom"), ("c3", "a", "r3"),
    ]
    assert messages[-1] == {"role": "assistant", "content": "done"}
    assert tool_message_problems(messages) == []
    as_dicts = chat_messages(conversation(ex), arguments_as_text=False)
    assert as_dicts[2]["tool_calls"][0]["function"]["arguments"] == {"k": 1}
    # the tool messages of a step must answer its calls before the next assistant turn
    assert tool_message_problems(messages[:4] + messages[5:])
    missing = chat_messages(conversation(example(Step((StepCall("a", {}, "c9"),)))))
    assert tool_message_problems(missing) == ["messages[3]: call 'c9' has no recorded result (the log has none)"]


def test_a_blank_final_answer_is_no_final_answer():
    ex = example(Step((StepCall("a", {}, "c1", ToolResult("r")),)), final="  ")
    assert conversation(ex).turns[-1].role == "tool"


def test_tool_problems_name_the_shared_rules():
    declared, problems = tool_problems([
        {"name": "a", "parameters": {"type": "object", "properties": {}}},
        {"name": "a", "parameters": {"type": "object"}},
        {"name": "b c", "parameters": {"type": "string"}, "description": 3},
    ], need_properties=False)
    assert declared == {"a", "b c"}
    assert any("declared twice" in p for p in problems)
    assert any('"type": "object"' in p for p in problems) and any("description" in p for p in problems)
    from deepeyes_core import API_TOOL_NAME

    _, strict = tool_problems([{"name": "b c", "parameters": {"type": "object"}}], name_pattern=API_TOOL_NAME, need_properties=True)
    assert any("must match" in p for p in strict)
    assert any("must have properties" in p for p in tool_problems([{"name": "x", "parameters": {"type": "object"}}], need_properties=True)[1])


def inv(tool: str, **parameters) -> ToolInvocation:
    return ToolInvocation(tool, "agent", parameters)


def test_the_catalogue_marks_arguments_every_call_passed_as_required():
    catalogue = ToolCatalogue()
    catalogue.observe(Trajectory("agent", (inv("search", q="a", n=3), inv("search", q="b"))))
    catalogue.observe(Trajectory("agent", (inv("search", q="c", n=None), inv("fetch"))))
    search = catalogue.spec("search")
    assert search.parameters == {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "q": {"type": "string"}},
        "required": ["q"],
    }
    assert "required" not in catalogue.spec("fetch").parameters  # no argument in every call
    assert search.description == ""  # no source declared it


def test_the_catalogue_keeps_declared_schemas_and_their_descriptions():
    declared = ToolSpec("search", {"type": "object", "properties": {"q": {"type": "string"}}}, "Search the web")
    catalogue = ToolCatalogue()
    catalogue.observe(Trajectory("agent", (inv("search", q="a", extra=1),), tools=(declared,)))
    assert catalogue.spec("search") == declared
    # a later declaration without a description keeps the earlier one's
    bare = ToolSpec("search", {"type": "object", "properties": {"q": {"type": "string"}, "k": {"type": "integer"}}})
    catalogue.observe(Trajectory("agent", (inv("search", q="b"),), tools=(bare,)))
    assert catalogue.spec("search") == ToolSpec("search", bare.parameters, "Search the web")
    assert catalogue.for_agent("agent") == (catalogue.spec("search"),)
