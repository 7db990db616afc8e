"""Synthetic tool-use pairs for measuring the ``trl`` backend without real logs.

18 tools, 1-5 calls per task, argument values from small vocabularies, and templated
sentences that name every argument value, in the layout deepeyes' task prompts use::

    prompt:     "Task: Look up the 50 most recent rows of the orders table, then cache them under
                 key orders:recent for 3600 seconds.\\n\\nRespond with the tool invocation sequence."
    completion: "Tool Invocation Sequence:\\n1. database_query({...})\\n2. cache_set({...})"

Deterministic for a seed; used by the tests and the benchmark of the tiny recipe (:func:`as_chat`
makes a pair the conversation the engine trains on).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

Call = tuple[str, dict[str, Any], str]  # tool name, arguments, the clause that asks for it

TABLES = ("orders", "users", "invoices", "products", "events", "sessions")
KEYS = ("orders:recent", "users:active", "report:daily", "stats:weekly", "feed:home", "cart:open")
TTLS = (60, 300, 900, 3600, 86400)
LIMITS = (5, 10, 20, 50, 100)
URLS = ("https://api.example.com/status", "https://example.org/feed", "https://data.example.net/prices")
EMAILS = ("alice@example.com", "bob@example.com", "ops@example.com", "sales@example.com")
SUBJECTS = ("Weekly report", "Outage notice", "Invoice ready", "Meeting notes")
PATHS = ("/data/report.csv", "/tmp/output.json", "/var/log/app.log", "/home/user/notes.txt")
QUERIES = ("python asyncio tutorial", "best pizza in Rome", "latest GPU prices", "weather radar maps")
EXPRESSIONS = ("12 * 7", "250 / 5", "3 + 4 * 2", "1024 - 768")
LANGUAGES = ("French", "German", "Spanish", "Japanese")
CITIES = ("Paris", "Berlin", "Tokyo", "Lisbon", "Boston")
UNITS = ("metric", "imperial")
CHANNELS = ("general", "alerts", "releases", "support")
MESSAGES = ("deploy finished", "build failed", "backup done", "cache cleared")
PROJECTS = ("WEB", "API", "INFRA", "MOBILE")
PRIORITIES = ("low", "medium", "high")
TITLES = ("Login broken", "Slow search", "Update docs", "Fix billing")
PEOPLE = ("Alice", "Bob", "Carol", "Dave")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
HOURS = (9, 10, 11, 14, 15, 16)
SIZES = (64, 128, 256, 512)
AMOUNTS = (10, 25, 100, 250, 1000)
CURRENCIES = ("USD", "EUR", "GBP", "JPY")
LEVELS = ("info", "warning", "error")


def _database_query(r: random.Random) -> Call:
    t, n = r.choice(TABLES), r.choice(LIMITS)
    text = r.choice([f"look up the {n} most recent rows of the {t} table", f"select {n} rows from the {t} table"])
    return "database_query", {"operation": "select", "table": t, "limit": n}, text


def _cache_set(r: random.Random) -> Call:
    k, ttl = r.choice(KEYS), r.choice(TTLS)
    text = r.choice([f"cache them under key {k} for {ttl} seconds", f"store the result in the cache as {k} with a TTL of {ttl} seconds"])
    return "cache_set", {"key": k, "ttl_seconds": ttl}, text


def _cache_get(r: random.Random) -> Call:
    k = r.choice(KEYS)
    return "cache_get", {"key": k}, r.choice([f"read the cached value at key {k}", f"fetch {k} from the cache"])


def _http_get(r: random.Random) -> Call:
    u = r.choice(URLS)
    return "http_get", {"url": u}, r.choice([f"download {u}", f"send a GET request to {u}"])


def _send_email(r: random.Random) -> Call:
    to, s = r.choice(EMAILS), r.choice(SUBJECTS)
    text = r.choice([f"email {to} with the subject \"{s}\"", f"send an email titled \"{s}\" to {to}"])
    return "send_email", {"to": to, "subject": s}, text


def _file_read(r: random.Random) -> Call:
    p = r.choice(PATHS)
    return "file_read", {"path": p}, r.choice([f"read the file {p}", f"open {p}"])


def _file_write(r: random.Random) -> Call:
    p = r.choice(PATHS)
    return "file_write", {"path": p}, r.choice([f"write the output to {p}", f"save everything to {p}"])


def _web_search(r: random.Random) -> Call:
    q, n = r.choice(QUERIES), r.choice(LIMITS[:3])
    text = r.choice([f"search the web for \"{q}\" and keep the top {n} results", f"find {n} web results for \"{q}\""])
    return "web_search", {"query": q, "max_results": n}, text


def _calculator(r: random.Random) -> Call:
    e = r.choice(EXPRESSIONS)
    return "calculator", {"expression": e}, r.choice([f"compute {e}", f"work out {e} with the calculator"])


def _translate(r: random.Random) -> Call:
    lang = r.choice(LANGUAGES)
    return "translate", {"target_language": lang}, r.choice([f"translate it into {lang}", f"render the text in {lang}"])


def _weather(r: random.Random) -> Call:
    c, u = r.choice(CITIES), r.choice(UNITS)
    text = r.choice([f"get the weather in {c} in {u} units", f"check the {u} forecast for {c}"])
    return "weather_lookup", {"city": c, "units": u}, text


def _slack_post(r: random.Random) -> Call:
    ch, m = r.choice(CHANNELS), r.choice(MESSAGES)
    text = r.choice([f"post \"{m}\" to the {ch} channel", f"tell the {ch} channel \"{m}\""])
    return "slack_post", {"channel": ch, "message": m}, text


def _create_ticket(r: random.Random) -> Call:
    p, pr, t = r.choice(PROJECTS), r.choice(PRIORITIES), r.choice(TITLES)
    text = r.choice([f"open a {pr} priority ticket in {p} titled \"{t}\"", f"file \"{t}\" as a {pr} priority {p} ticket"])
    return "create_ticket", {"project": p, "priority": pr, "title": t}, text


def _schedule_meeting(r: random.Random) -> Call:
    a, d, h = r.choice(PEOPLE), r.choice(DAYS), r.choice(HOURS)
    text = r.choice([f"book a meeting with {a} on {d} at {h}:00", f"schedule time with {a} for {d} at {h}:00"])
    return "schedule_meeting", {"attendee": a, "day": d, "hour": h}, text


def _resize_image(r: random.Random) -> Call:
    w, h = r.choice(SIZES), r.choice(SIZES)
    return "resize_image", {"width": w, "height": h}, r.choice([f"resize the image to {w}x{h}", f"scale the picture to {w} by {h} pixels"])


def _summarize(r: random.Random) -> Call:
    n = r.choice(LIMITS[1:])
    return "summarize_text", {"max_words": n}, r.choice([f"summarize it in at most {n} words", f"write a {n}-word summary"])


def _currency(r: random.Random) -> Call:
    a, src, dst = r.choice(AMOUNTS), *r.sample(CURRENCIES, 2)
    text = r.choice([f"convert {a} {src} to {dst}", f"find out what {a} {src} is worth in {dst}"])
    return "currency_convert", {"amount": a, "from": src, "to": dst}, text


def _log_event(r: random.Random) -> Call:
    lv, m = r.choice(LEVELS), r.choice(MESSAGES)
    return "log_event", {"level": lv, "message": m}, r.choice([f"log an {lv} event saying \"{m}\"" if lv[0] in "aeiou" else f"log a {lv} event saying \"{m}\"", f"record \"{m}\" at {lv} level"])


TOOLS: tuple[Callable[[random.Random], Call], ...] = (
    _database_query, _cache_set, _cache_get, _http_get, _send_email, _file_read, _file_write, _web_search,
    _calculator, _translate, _weather, _slack_post, _create_ticket, _schedule_meeting, _resize_image,
    _summarize, _currency, _log_event,
)
LENGTH_WEIGHTS = {1: 0.30, 2: 0.30, 3: 0.20, 4: 0.12, 5: 0.08}
CONNECTORS = (", then ", ", and then ", ", after that ", "; next, ")


def make_pair(r: random.Random) -> tuple[str, str]:
    """One (prompt, completion) pair."""
    length = r.choices(list(LENGTH_WEIGHTS), weights=list(LENGTH_WEIGHTS.values()))[0]
    calls = [r.choice(TOOLS)(r) for _ in range(length)]
    sentence = calls[0][2]
    for _, _, clause in calls[1:]:
        sentence += r.choice(CONNECTORS) + clause
    prompt = f"Task: {sentence[0].upper()}{sentence[1:]}.\n\nRespond with the tool invocation sequence."
    lines = [f"{i}. {name}({json.dumps(args)})" for i, (name, args, _) in enumerate(calls, 1)]
    return prompt, "Tool Invocation Sequence:\n" + "\n".join(lines)


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct pairs, deterministic for ``seed``."""
    r, seen, pairs = random.Random(seed), set(), []
    while len(pairs) < n:
        pair = make_pair(r)
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    return pairs


def split(n_train: int = 510, n_val: int = 45, n_test: int = 90, seed: int = 0) -> tuple[list, list, list]:
    """Disjoint train / val / test lists of pairs (defaults: ~600 pairs, 90 held out)."""
    pairs = make_pairs(n_train + n_val + n_test, seed)
    return pairs[:n_train], pairs[n_train:n_train + n_val], pairs[n_train + n_val:]


def as_chat(pair: tuple[str, str]) -> dict[str, Any]:
    """A pair as the conversation the ``trl`` engine trains on: the task as the user's turn, then one
    assistant turn making the calls (synthetic tasks have no tool results and no final answer)."""
    from deepeyes_core import parse_invocations

    prompt, completion = pair
    calls = parse_invocations(completion) or ()
    return {"messages": [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "id": f"call_{i}", "function": {"name": c.name, "arguments": c.arguments}}
            for i, c in enumerate(calls, 1)]},
    ], "tools": None}


def prompt_chat(pair: tuple[str, str]) -> dict[str, Any]:
    """The conversation a model answers for a pair: the user's turn alone."""
    return {"messages": as_chat(pair)["messages"][:1], "tools": None}


def split_chats(n_train: int = 510, n_val: int = 45, n_test: int = 90, seed: int = 0) -> tuple[list, list, list]:
    """:func:`split` as conversations."""
    return tuple([as_chat(pair) for pair in part] for part in split(n_train, n_val, n_test, seed))  # type: ignore[return-value]
