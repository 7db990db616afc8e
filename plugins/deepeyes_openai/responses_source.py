"""The ``openai-responses`` source: OpenAI Responses API conversations, one JSON object a line.

**Record.** One non-blank line of a JSONL file is one record: one API call. It ends as exactly one
item: a :class:`Trajectory` (the tool calls of the conversation up to that call, each carrying the
line as its location), or a :class:`Rejection` with ``records=1``. So ``trajectories +
sum(rejection.records)`` equals the number of non-blank lines read.

**Line shapes.** A logged API call, ``{"request": <responses.create body>, "response":
<Response>}``, or the request's keys flat beside ``response`` (``{"input": [...], "tools": [...],
"model": ..., "response": ...}``). ``response.model_dump(mode="json")`` of the ``openai`` SDK is
read as is; ``response`` is optional (the input alone, e.g. an eval set), and a ``failed`` response
or one with an ``error`` and no output counts as absent. A bare Response object is not a
conversation (the API keeps its input items apart, at ``/responses/{id}/input_items``) and is
rejected as ``malformed record``. Optional line-level keys, as for ``openai-chat``:
``metadata.conversation_id`` / ``conversation_id`` / ``id`` (the session; else ``file:line``),
``timestamp`` (else the response's ``created_at``; else the file's modification time),
``agent_name`` / ``metadata.agent_name`` (else the model).

**History.** A conversation whose requests resend the whole history (``input`` grows by the
response's output items and the ``function_call_output`` items, as the SDK's examples and the
Agents SDK do) is read from each line alone: earlier lines end asking for results that a later
line has (``awaiting tool results``), the last one becomes the trajectory. A request with
``previous_response_id`` holds only the new items; its history is the earlier lines of the same
read whose response ids form the chain (input, then output, of each), so the line must come after
them. The last ``max_chained_responses`` responses are kept for this (their items, not the JSON
lines); a chain that names a response not among them is ``unknown previous_response_id``.

**Items.** ``message`` items (``role`` user/system/developer/assistant; content a string or
``input_text`` / ``output_text`` parts; ``type`` may be left out of input messages), ``reasoning``
(skipped: not training text), ``function_call`` (``call_id``, ``name``, ``arguments`` as a JSON
string: parsed; empty means no arguments) and ``function_call_output`` (``call_id``, ``output`` a
string or content parts), paired by ``call_id``. ``mcp_call`` items carry their own ``output`` or
``error`` and are kept as calls. The built-in tools whose results the log does not hold
(``web_search_call``, ``file_search_call``, ``computer_call``, ``code_interpreter_call``,
``image_generation_call``, ``local_shell_call``, ``custom_tool_call``, ...) make the conversation
``unsupported tool call``: keeping it would put a call without its result into training data.
``item_reference`` (an item kept on the server) is ``unsupported input item``. The Responses API
has no failure flag on a function result: a call is a SUCCESS unless its output item carries
``"is_error": true`` (as some loggers add) or it is an ``mcp_call`` with an ``error``.

**Turns and answer.** The output items of one response (a run of assistant messages and calls
between the user's and the tools' items) are one assistant turn: its calls were made together,
its text is its assistant messages' ``output_text`` joined by newlines. The first such run without
calls after the last function output is the ``final_answer``. The first user message is the
``user_request`` (a string ``input`` is one); the request's function ``tools`` become ToolSpecs.

**Rejections** (stage ``read``): ``malformed JSON`` / ``torn last line``, ``malformed record``,
``unparseable arguments``, ``unsupported tool call``, ``unsupported input item``, ``unknown
previous_response_id``, ``unpaired function_call``, ``unpaired function_call_output``, ``awaiting
tool results``, ``no tool calls``.

**Memory.** Streams one line at a time; what it keeps is the items of the last
``max_chained_responses`` responses that carry an id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from deepeyes_core import (
    Location,
    RecordRejected,
    SourceItem,
    ToolStatus,
    Trajectory,
    conversations,
    hookimpl,
)

from . import response_items


def _response(value: Any) -> dict[str, Any] | None:
    """The Response of a line; None where it is absent or failed."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("output", []), list):
        raise RecordRejected.malformed("response is not a Response (no output list)")
    if value.get("status") == "failed" or (value.get("error") and not value.get("output")):
        return None
    if "output" not in value:
        raise RecordRejected.malformed("response is not a Response (no output list)")
    return value


class OpenAIResponsesSource:
    """OpenAI Responses API conversations (JSONL): function_call items paired with their outputs by call_id."""

    name = "openai-responses"

    @attrs.frozen
    class Options:
        #: Agent name for every trajectory; unset: the line's agent_name, else the model.
        agent_name: str | None = None
        #: How many responses a ``previous_response_id`` chain can reach back to.
        max_chained_responses: int = attrs.field(default=10_000, validator=attrs.validators.ge(0))

    def __init__(self, options: Options):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        # response id -> (previous response id, that call's input and output items)
        chains: OrderedDict[str, tuple[str | None, list[Any]]] = OrderedDict()
        return conversations.read_conversations(
            paths, lambda mtime, location, line: self._trajectory(chains, mtime, location, line)
        )

    def _history(self, chains: OrderedDict[str, tuple[str | None, list[Any]]], previous: Any) -> list[Any]:
        if previous is None:
            return []
        parts: list[list[Any]] = []
        seen: set[str] = set()
        while previous is not None:
            if not isinstance(previous, str) or previous not in chains:
                raise RecordRejected(
                    "unknown previous_response_id", f"{previous!r} is not a response read before this line"
                )
            if previous in seen:
                raise RecordRejected.malformed(f"the previous_response_id chain comes back to {previous}")
            seen.add(previous)
            previous, items = chains[previous]
            parts.append(items)
        return [item for part in reversed(parts) for item in part]

    def _trajectory(
        self, chains: OrderedDict[str, tuple[str | None, list[Any]]], mtime: datetime, location: Location, line: Any
    ) -> Trajectory:
        request, response = conversations.exchange(line)
        if request.get("object") == "response":
            raise RecordRejected.malformed("a bare Response object: its input items are not in the log")
        if "input" not in request:
            raise RecordRejected.malformed("no input")
        response = _response(response)
        given = request["input"]
        if isinstance(given, str):
            given = [{"role": "user", "content": given}]
        if not isinstance(given, list):
            raise RecordRejected.malformed("input is neither text nor a list of items")
        history = self._history(chains, request.get("previous_response_id"))
        output = response["output"] if response is not None else []
        response_id = conversations.nonempty_string(response.get("id")) if response is not None else None
        if response_id is not None and self.options.max_chained_responses:
            chains[response_id] = (request.get("previous_response_id"), [*given, *output])
            chains.move_to_end(response_id)
            while len(chains) > self.options.max_chained_responses:
                chains.popitem(last=False)
        walked = response_items.walk([*history, *given], output)
        tools = response_items.tools(request.get("tools"))
        stamp = conversations.exchange_time(line, mtime, response.get("created_at") if response is not None else None)
        return conversations.paired_trajectory(
            location,
            calls=walked.calls,
            results=walked.results,
            outcome=_outcome,
            last_message=walked.last_turn,
            call_kind="function_call",
            result_kind="function_call_output",
            agent=self.options.agent_name or conversations.agent_name(line, request, response, self.name),
            session=conversations.session_id(location, line, request),
            stamp=stamp,
            user_request=walked.user_request,
            tools=tools,
            source=self.name,
            texts=walked.texts,
            final_answer=walked.final_answer,
        )


def _outcome(item: dict[str, Any]) -> conversations.Outcome:
    """Result, status and error of a function_call_output (or mcp_call) item."""
    if item.get("type") == "mcp_call":
        if item.get("error") is not None:
            return None, ToolStatus.FAILURE, str(item["error"])
        return item.get("output"), ToolStatus.SUCCESS, None
    value = item.get("output")
    text = value if isinstance(value, str) else response_items.text_of(value)
    if item.get("is_error") is True:
        return None, ToolStatus.FAILURE, text or "function_call_output is_error"
    return (value if value is None or isinstance(value, str) else text), ToolStatus.SUCCESS, None


@hookimpl
def deepeyes_trajectory_sources():
    return [OpenAIResponsesSource]
