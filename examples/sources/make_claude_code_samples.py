"""Writes ``claude_code/``: session transcripts written by the real Claude Code CLI.

    npm install --prefix /tmp/cc @anthropic-ai/claude-code      # 2.1.x; node >= 18
    python examples/sources/make_claude_code_samples.py --claude /tmp/cc/node_modules/.bin/claude

Checked with Claude Code 2.1.197 (the committed sample's ``version`` field).

Claude Code runs non-interactively (``claude -p ... --output-format json``) with ``HOME`` and its
working folder in a temporary directory, against a fake Anthropic Messages API on loopback that
this script serves (``ANTHROPIC_BASE_URL``; streamed SSE answers to ``/v1/messages``, a token count
to ``count_tokens``). The fake model follows a script per session, found by the first user
message's text; requests it has no script for (Claude Code's own side queries) get a short text
answer. The tools really run (Bash, Read, Write, Edit, Glob, Grep, the subagent tool), so the
results in the transcripts are Claude Code's own. Afterwards ``~/.claude/projects`` is copied
here, the temporary path replaced by ``/tmp/deepeyes-cc`` (in the folder names and the text) so
reruns give comparable files; nothing else is changed. Needs only the Python standard library and
the CLI. ``--log`` prints every request the fake API gets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "claude_code"
STABLE_ROOT = "/tmp/deepeyes-cc"
MODEL = "claude-sonnet-4-5"

#: A reply: text (or None) and tool calls [(tool name, input)] made together in one message.
Reply = tuple[str | None, list[tuple[str, dict[str, Any]]]]

#: Session scripts: the first user message's trigger word -> the model's replies in order.
SCRIPTS: dict[str, list[Reply]] = {
    "inventory": [
        ("Let me look at the project first.", [("Glob", {"pattern": "**/*.py"})]),
        (None, [("Read", {"file_path": "{cwd}/app.py"}), ("Grep", {"pattern": "def ", "path": "{cwd}", "output_mode": "content"})]),
        ("Running the tests.", [("Bash", {"command": "python3 -m pytest -q tests 2>&1 | tail -3 || true", "description": "Run tests"})]),
        (None, [("Read", {"file_path": "{cwd}/missing_config.toml"})]),
        ("There is no config file; I will write one.", [("Write", {"file_path": "{cwd}/config.toml", "content": "[app]\nname = \"inventory\"\n"})]),
        ("The app has two functions, `add` and `total`; I wrote `config.toml` with the app's name.", []),
    ],
    "rename": [
        ("I'll rename the function.", [("Edit", {"file_path": "{cwd}/app.py", "old_string": "def total(", "new_string": "def grand_total("})]),
        ("The file must be read first.", [("Read", {"file_path": "{cwd}/app.py"})]),
        (None, [("Edit", {"file_path": "{cwd}/app.py", "old_string": "def total(", "new_string": "def grand_total("})]),
        (None, [("Bash", {"command": "grep -n grand_total app.py", "description": "Check the rename"})]),
        ("`total` is now `grand_total` in app.py.", []),
    ],
    "survey": [
        ("I'll ask a subagent to survey the files.", [("{agent}", {"description": "Survey files", "prompt": "SUBTASK: count the lines of app.py and report the number.", "subagent_type": "general-purpose"})]),
        ("The subagent reports the line count of app.py; see above.", []),
    ],
    "SUBTASK": [
        (None, [("Bash", {"command": "wc -l app.py", "description": "Count lines"})]),
        ("app.py has the line count shown by wc.", []),
    ],
    "continue": [
        (None, [("Bash", {"command": "ls", "description": "List files"}), ("Bash", {"command": "false", "description": "A failing command"})]),
        ("Listed the files; the second command failed as expected.", []),
    ],
}


COMPACT_SUMMARY = (
    "<analysis>The user asked for an inventory, then to list files.</analysis>\n<summary>1. Primary Request: "
    "inventory of the project and a config file; then list the files and run false.\n2. Done: config.toml "
    "written; ls listed the files; false failed with exit code 1.</summary>"
)


def _first_user_text(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


class FakeModel:
    """Chooses each answer from the scripts; counts requests per script for the checks at the end."""

    def __init__(self, cwd: str, log: bool):
        self.cwd, self.log, self.seen = cwd, log, []
        self.counter = 0
        self.lock = threading.Lock()

    def reply(self, body: dict[str, Any]) -> Reply:
        messages = body.get("messages", [])
        first = _first_user_text(messages)
        if messages and "create a detailed summary" in _first_user_text(messages[-1:]):  # /compact
            return (COMPACT_SUMMARY, [])
        tools = [t.get("name") for t in body.get("tools", []) if isinstance(t, dict)]
        agent = "Agent" if "Agent" in tools else "Task"
        # The latest trigger wins: a resumed session's first message is the first session's.
        for word in ("SUBTASK", "continue", "survey", "rename", "inventory"):
            if word in first or (word == "continue" and any(word in _first_user_text([m]) for m in messages[1:])):
                script = SCRIPTS[word]
                break
        else:
            return ("OK.", [])
        # Replies already given in this conversation (after the trigger's message).
        start = 0
        if word == "continue":
            start = max(i for i, m in enumerate(messages) if m.get("role") == "user" and "continue" in _first_user_text([m]))
        done = sum(1 for m in messages[start:] if m.get("role") == "assistant" and _has_tool_use(m))
        index = min(done, len(script) - 1)
        if not tools and script[index][1]:
            return ("OK.", [])
        text, calls = script[index]
        fill = lambda v: v.replace("{cwd}", self.cwd).replace("{agent}", agent) if isinstance(v, str) else v
        return text, [(fill(name), {k: fill(v) for k, v in args.items()}) for name, args in calls]

    def next_id(self, prefix: str) -> str:
        with self.lock:
            self.counter += 1
            return f"{prefix}_fake{self.counter:04d}"


def _has_tool_use(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content)


def _events(model: FakeModel, body: dict[str, Any], text: str | None, calls: list[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
    usage = {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    message = {
        "id": model.next_id("msg"), "type": "message", "role": "assistant", "model": body.get("model", MODEL),
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage,
    }
    yield "message_start", {"type": "message_start", "message": message}
    index = 0
    if text:
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
        index += 1
    for name, arguments in calls:
        block = {"type": "tool_use", "id": model.next_id("toolu"), "name": name, "input": {}}
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(arguments)}
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
        index += 1
    stop = "tool_use" if calls else "end_turn"
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 20}}
    yield "message_stop", {"type": "message_stop"}


def serve(model: FakeModel) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            if model.log:
                print("POST", self.path, json.dumps(body.get("messages", []))[-400:], flush=True)
            if "count_tokens" in self.path:
                return self._json({"input_tokens": 100})
            if not self.path.startswith("/v1/messages"):
                return self._json({})
            text, calls = model.reply(body)
            events = list(_events(model, body, text, calls))
            if not body.get("stream"):
                message = events[0][1]["message"] | {"stop_reason": events[-2][1]["delta"]["stop_reason"]}
                message["content"] = [e[1]["content_block"] for e in events if e[0] == "content_block_start"]
                for block, (_, arguments) in zip([b for b in message["content"] if b["type"] == "tool_use"], calls):
                    block["input"] = arguments
                for block in message["content"]:
                    if block["type"] == "text":
                        block["text"] = text
                return self._json(message)
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for name, data in events:
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        def do_GET(self) -> None:
            if model.log:
                print("GET", self.path, flush=True)
            self._json({})

        def _json(self, value: Any) -> None:
            data = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


APP = '''def add(items, item):
    items.append(item)
    return items


def total(prices):
    return sum(prices)
'''


def run_claude(claude: str, env: dict[str, str], cwd: Path, prompt: str, *extra: str) -> dict[str, Any]:
    command = [claude, "-p", prompt, "--output-format", "json", "--model", MODEL,
               "--allowedTools", "Bash,Read,Write,Edit,Glob,Grep,Task,Agent", "--permission-mode", "acceptEdits", *extra]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"claude failed ({done.returncode}): {done.stderr or done.stdout}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claude", default="claude", help="the Claude Code executable")
    parser.add_argument("--log", action="store_true", help="print the requests the fake API gets")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deepeyes-cc-") as temp:
        root = Path(temp).resolve()
        home, work = root / "home", root / "work"
        home.mkdir()
        (work / "tests").mkdir(parents=True)
        (work / "app.py").write_text(APP)
        (work / "tests" / "test_app.py").write_text("from app import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n")
        model = FakeModel(str(work), args.log)
        server = serve(model)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TERM": "dumb",
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.server_port}", "ANTHROPIC_API_KEY": "sk-ant-fake",
            "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_COST_WARNINGS": "1",
        }
        try:
            first = run_claude(args.claude, env, work, "Take an inventory of this project and add a config file.")
            run_claude(args.claude, env, work, "Please rename total to grand_total.")
            run_claude(args.claude, env, work, "Please survey this project with a subagent.")
            run_claude(args.claude, env, work, "Now continue: list the files and run false.", "--resume", first["session_id"])
            run_claude(args.claude, env, work, "/compact", "--resume", first["session_id"])
        finally:
            server.shutdown()
        projects = home / ".claude" / "projects"
        if OUT.exists():
            shutil.rmtree(OUT)
        for path in sorted(projects.rglob("*.jsonl")):
            slug = re.sub("[^A-Za-z0-9]", "-", str(root))  # how Claude Code names a project's folder
            relative = str(path.relative_to(projects)).replace(slug, STABLE_ROOT.replace("/", "-"))
            target = OUT / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text().replace(str(root), STABLE_ROOT))
    for path in sorted(OUT.rglob("*.jsonl")):
        print(path.relative_to(HERE), sum(1 for _ in path.open()), "lines")


if __name__ == "__main__":
    main()
