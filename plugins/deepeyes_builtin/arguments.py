"""The ``schema`` argument generator: arguments from a tool's JSON Schema, valid and invalid, seeded.

Valid cases follow the schema: every required property, each optional one with probability one
half; ``enum``/``const``/``examples``/``default`` where given, else a value of the declared type
within ``minimum``/``maximum``, ``minLength``/``maxLength``, ``minItems``/``maxItems``, and a
handful of ``format``s (date, date-time, email, uri, uuid); ``anyOf``/``oneOf`` pick one branch,
``allOf`` merges its parts, local ``$ref``s (``#/$defs/...``, as pydantic writes them) are followed.
``pattern`` is not honoured (a string matching an arbitrary regular expression is not generated).

Invalid cases, ``round(count * invalid_ratio)`` of them at seeded positions, take a valid case and
break it one way: drop a required property (``missing-required``) or give a typed property a value
of another JSON type (``wrong-type``); a schema that allows neither yields a valid case instead.
"""

from __future__ import annotations

import random
import string
from typing import Any

import attrs

from deepeyes_core import ToolSpec

_WORDS = ("alpha", "report", "orders", "berlin", "invoice", "search", "notes", "summary", "blue", "42")
_FORMATS = {
    "date": lambda rng: f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    "date-time": lambda rng: f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
    "email": lambda rng: f"{rng.choice(_WORDS)}@example.com",
    "uri": lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
    "uuid": lambda rng: "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}".format(*(rng.getrandbits(b) for b in (32, 16, 12, 12, 48))),
}
#: A value of another type for each JSON type, for ``wrong-type`` cases.
_WRONG = {"string": 7, "integer": "seven", "number": "many", "boolean": "yes", "array": "a", "object": "o", "null": 0}


class SchemaArguments:
    """Arguments from the tool's JSON Schema: valid cases, and invalid ones at invalid_ratio (seeded)."""

    name = "schema"

    @attrs.frozen
    class Options:
        #: The share of calls made with invalid arguments (missing required, wrong type).
        invalid_ratio: float = attrs.field(default=0.2, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)])
        max_array_items: int = attrs.field(default=3, validator=attrs.validators.ge(0))

    def __init__(self, options: Options):
        self.options = options

    async def arguments(self, tool: ToolSpec, count: int, seed: int) -> list[dict[str, Any]]:
        return [arguments for _, arguments in self.cases(tool, count, seed)]

    def cases(self, tool: ToolSpec, count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
        """``(kind, arguments)`` per call: kind ``valid``, ``missing-required`` or ``wrong-type``."""
        rng = random.Random(seed)
        invalid = set(rng.sample(range(count), round(count * self.options.invalid_ratio)))
        out = []
        for i in range(count):
            arguments = _Maker(tool.parameters, rng, self.options.max_array_items).value(tool.parameters)
            arguments = arguments if isinstance(arguments, dict) else {}
            out.append(_break(tool.parameters, arguments, rng) if i in invalid else ("valid", arguments))
        return out


def _break(schema: dict[str, Any], arguments: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    ways = []
    required = [key for key in schema.get("required", ()) if key in arguments]
    if required:
        ways.append("missing-required")
    typed = [key for key, sub in schema.get("properties", {}).items() if isinstance(sub, dict) and isinstance(sub.get("type"), str)]
    if typed:
        ways.append("wrong-type")
    if not ways:
        return "valid", arguments
    way = rng.choice(ways)
    broken = dict(arguments)
    if way == "missing-required":
        del broken[rng.choice(required)]
    else:
        key = rng.choice(typed)
        broken[key] = _WRONG[schema["properties"][key]["type"]]
    return way, broken


class _Maker:
    """Values for one tool's schema (its ``$defs`` resolve local references)."""

    def __init__(self, root: dict[str, Any], rng: random.Random, max_items: int):
        self.root, self.rng, self.max_items = root, rng, max_items

    def _resolve(self, schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and depth < 20:
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self._resolve(merged, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part, depth + 1) if isinstance(part, dict) else {}
                merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
            return merged
        return schema

    def value(self, schema: Any, depth: int = 0) -> Any:
        rng = self.rng
        if not isinstance(schema, dict) or depth > 8:
            return None
        schema = self._resolve(schema)
        for choice in ("anyOf", "oneOf"):
            if isinstance(schema.get(choice), list) and schema[choice]:
                branches = [b for b in schema[choice] if not (isinstance(b, dict) and b.get("type") == "null")]
                return self.value(rng.choice(branches or schema[choice]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return rng.choice(schema["enum"])
        if isinstance(schema.get("examples"), list) and schema["examples"] and rng.random() < 0.5:
            return rng.choice(schema["examples"])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = rng.choice([k for k in kind if k != "null"] or kind)
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            properties = schema.get("properties", {})
            required = set(schema.get("required", ()))
            return {
                key: self.value(sub, depth + 1)
                for key, sub in properties.items()
                if key in required or rng.random() < 0.5
            }
        if kind == "array":
            low = schema.get("minItems", 0)
            high = max(low, min(schema.get("maxItems", self.max_items), self.max_items))
            return [self.value(schema.get("items", {}), depth + 1) for _ in range(rng.randint(low, high))]
        if kind in ("integer", "number"):
            return self._number(schema, kind)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema)

    def _number(self, schema: dict[str, Any], kind: str) -> int | float:
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", max(low, 0) + 100))
        if low > high:  # only a maximum, below 0
            low = high - 100
        if kind == "integer":
            low_i = int(low) + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
            high_i = int(high) - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
            return self.rng.randint(low_i, max(low_i, high_i))
        value = round(self.rng.uniform(low, high), 3)
        return value if low < value < high or not ("exclusiveMinimum" in schema or "exclusiveMaximum" in schema) else (low + high) / 2

    def _string(self, schema: dict[str, Any]) -> str:
        rng = self.rng
        fmt = _FORMATS.get(schema.get("format", ""))
        if fmt is not None:
            return fmt(rng)
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        while len(text) < low:
            text += rng.choice(string.ascii_lowercase)
        return text[:high] if high is not None else text
