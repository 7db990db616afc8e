"""Phase 1 tools that run locally and can fail for real: JSON parsing, arithmetic, hashing, text."""

from __future__ import annotations

import ast
import hashlib
import json
import operator
import re
from typing import Any

from deepeyes_core import Tool

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.USub: operator.neg, ast.Mod: operator.mod}


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.operand))
    raise ValueError(f"unsupported expression: {ast.dump(node)[:60]}")


def calculator(args: dict[str, Any]) -> dict[str, Any]:
    return {"value": _arith(ast.parse(args["expression"], mode="eval").body)}


def json_parse(args: dict[str, Any]) -> dict[str, Any]:
    parsed = json.loads(args["text"])
    return {"type": type(parsed).__name__, "keys": sorted(parsed) if isinstance(parsed, dict) else None}


def hash_text(args: dict[str, Any]) -> dict[str, str]:
    return {"digest": hashlib.new(args["algorithm"], args["text"].encode()).hexdigest()}


def regex_search(args: dict[str, Any]) -> dict[str, Any]:
    return {"matches": re.findall(args["pattern"], args["text"])[:10]}


def word_count(args: dict[str, Any]) -> dict[str, int]:
    return {"words": len(args["text"].split())}


_TEXTS = ["the quick brown fox", "tool use improves with data", "error: disk full", "42 apples and 7 pears"]


def builtin_tools() -> list[Tool]:
    return [
        Tool("calculator", calculator,
             lambda rng: {"expression": rng.choice(["2+3*4", "10/4", "7%3", "1/0", "2**10", "3-(", "-5*2"])},
             "Evaluate an arithmetic expression."),
        Tool("json_parse", json_parse,
             lambda rng: {"text": rng.choice(['{"a": 1}', "[1, 2]", '{"b": [true]}', "{broken", '"s"'])},
             "Parse a JSON document."),
        Tool("hash_text", hash_text,
             lambda rng: {"algorithm": rng.choice(["sha256", "md5", "blake2b", "sha999"]), "text": rng.choice(_TEXTS)},
             "Hash a text."),
        Tool("regex_search", regex_search,
             lambda rng: {"pattern": rng.choice([r"\d+", r"[a-z]+", r"(", r"error"]), "text": rng.choice(_TEXTS)},
             "Find regular-expression matches."),
        Tool("word_count", word_count, lambda rng: {"text": rng.choice(_TEXTS)}, "Count words."),
    ]


