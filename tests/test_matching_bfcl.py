"""deepeyes' ``bfcl`` matching mode against BFCL's own AST checker, on perturbed BFCL entries.

The simple/multiple/parallel/parallel_multiple entries shipped in the bfcl-eval wheel, with their
possible answers, are perturbed deterministically (correct answers with every accepted value,
string case/spacing/punctuation, left-out parameters, wrong types and values, extra parameters,
wrong names, reordered, missing and extra calls). Each case is judged by ``ast_checker`` as
BFCL's ``eval_runner`` calls it (language Python, the test category, a model that keeps dots in
function names) and by :func:`~deepeyes_core.score_answer` on the rendered answer, with the
entry's functions as the example's tool schemas (types as BFCL sends them to OpenAI-style APIs)
and a parallel entry's calls as one step. bfcl-eval is installed with ``--no-deps`` (see
``scripts/test.sh``).
"""

from __future__ import annotations

import json
import random
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from deepeyes_core import Accepted, MatchOptions, ToolCall, ToolSpec, score_answer

bfcl_eval = pytest.importorskip("bfcl_eval")

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple")
#: A model of BFCL's registry that keeps dots in function names (``underscore_to_dot=False``).
MODEL = "gorilla-openfunctions-v2"
SEED = 2026


def _ast_checker():
    """BFCL's checker. Its model registry imports every provider SDK (bfcl-eval's heavy
    dependencies); the checker reads it only for ``underscore_to_dot``, so where the registry
    cannot be imported one entry for :data:`MODEL` stands in for it."""
    try:
        import bfcl_eval.constants.model_config  # noqa: F401
    except ImportError:
        registry = types.ModuleType("bfcl_eval.constants.model_config")
        registry.MODEL_CONFIG_MAPPING = {MODEL: types.SimpleNamespace(underscore_to_dot=False)}
        sys.modules[registry.__name__] = registry
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return lambda functions, output, answer, category: ast_checker(
        functions, output, answer, Language.PYTHON, category, MODEL)["valid"]


def _load(category: str) -> list[tuple[dict, list]]:
    data = Path(bfcl_eval.__file__).parent / "data"
    prompts = [json.loads(line) for line in (data / f"BFCL_v4_{category}.json").open()]
    answers = {a["id"]: a["ground_truth"] for a in map(json.loads, (data / "possible_answer" / f"BFCL_v4_{category}.json").open())}
    return [(entry, answers[entry["id"]]) for entry in prompts]


def _json_schema(schema: Any) -> Any:
    """BFCL's parameter types renamed as for OpenAI-style tools (its ``GORILLA_TO_OPENAPI``)."""
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI

    if isinstance(schema, dict):
        return {k: GORILLA_TO_OPENAPI.get(v, v) if k == "type" and isinstance(v, str) else _json_schema(v)
                for k, v in schema.items()}
    return [_json_schema(v) for v in schema] if isinstance(schema, list) else schema


def _accepted(values: list) -> Accepted:
    """A BFCL possible-answer list: its values (dicts' values are lists again), ``""``: optional."""
    return Accepted(tuple(_reference(v) for v in values if v != ""), optional="" in values)


def _reference(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _accepted(v) if isinstance(v, list) else v for k, v in value.items()}
    return [_reference(v) for v in value] if isinstance(value, list) else value


def _first(values: list) -> Any:
    """The first accepted value of a possible-answer list (a dict's values picked the same way)."""
    value = next(v for v in values if v != "")
    if isinstance(value, dict):
        return {k: _first(v) for k, v in value.items() if any(x != "" for x in v)}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [{k: _first(v) for k, v in d.items() if any(x != "" for x in v)} for d in value]
    return value


def _string_variants(text: str, rng: random.Random) -> list[tuple[str, str]]:
    out = [("string-upper", text.upper()), ("string-spaces-punct", f" {text.replace(' ', ' - ')}."),
           ("string-no-spaces", text.replace(" ", "")), ("string-suffix", text + "x"),
           ("string-other-char", text + "!")]
    if len(text) > 1:
        i = rng.randrange(1, len(text))
        out.append(("string-insert-underscore", text[:i] + "_" + text[i:]))
    return out


def _type_variants(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, bool):
        return [("type-bool-as-int", int(value)), ("type-bool-as-str", str(value).lower()), ("value-bool-flip", not value)]
    if isinstance(value, int):
        return [("type-int-as-float", float(value)), ("type-int-as-str", str(value)), ("value-int-changed", value + 1)]
    if isinstance(value, float):
        return [("type-float-as-int", int(value)), ("type-float-as-str", str(value)), ("value-float-changed", value * 1.5 + 1)]
    if isinstance(value, list):
        out = [("value-list-reversed", value[::-1]), ("value-list-shorter", value[:-1]), ("type-list-as-item", value[0] if value else "")]
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            out.append(("type-int-items-as-float", [float(v) for v in value]))
        if value and all(isinstance(v, float) for v in value):
            out.append(("type-float-items-as-int", [int(v) for v in value]))
        return out
    if isinstance(value, dict) and value:
        key = next(iter(value))
        return [("value-dict-key-dropped", {k: v for k, v in value.items() if k != key}),
                ("value-dict-extra-key", {**value, "extra_key": 1})]
    return []


def _call_cases(name: str, answer: dict, function: dict, rng: random.Random):
    """(kind, arguments or a new name) variants of one correct call."""
    base = {p: _first(v) for p, v in answer.items() if any(x != "" for x in v)}
    required = set(function["parameters"].get("required", ()))
    yield "correct", name, base
    for param, values in answer.items():
        for value in [v for v in values if v != ""][1:]:
            yield "correct-other-accepted", name, {**base, param: value}
        if param not in base:
            continue
        left_out = {k: v for k, v in base.items() if k != param}
        kind = "omit-required" if param in required else "omit-optional" if "" in values else "omit-unmarked-optional"
        yield kind, name, left_out
        if "" in values and isinstance(base[param], str):
            yield "empty-string-optional", name, {**base, param: ""}
        value = base[param]
        if isinstance(value, str):
            for kind, text in _string_variants(value, rng):
                yield kind, name, {**base, param: text}
        for kind, other in _type_variants(value):
            yield kind, name, {**base, param: other}
    yield "extra-param", name, {**base, "unexpected_param": "x"}
    unused = [p for p in function["parameters"]["properties"] if p not in answer]
    if unused:
        yield "extra-schema-param", name, {**base, unused[0]: "x"}
    yield "wrong-name", name + "_v2", base


def _cases(entry: dict, truth: list, rng: random.Random):
    """(kind, model output) cases of one entry, as ``decode_ast`` gives them: [{name: args}]."""
    functions = {f["name"]: f for f in entry["function"]}
    calls = [next(iter(c.items())) for c in truth]
    correct = [{n: {p: _first(v) for p, v in a.items() if any(x != "" for x in v)}} for n, a in calls]
    for i, (name, answer) in enumerate(calls):
        for kind, new_name, args in _call_cases(name, answer, functions[name], rng):
            yield kind, correct[:i] + [{new_name: args}] + correct[i + 1:]
    others = [n for n in functions if n != calls[0][0]]
    if others:
        yield "other-function", [{others[0]: correct[0][calls[0][0]]}] + correct[1:]
    if len(correct) > 1:
        shuffled = correct[:]
        while shuffled == correct:
            rng.shuffle(shuffled)
        yield "calls-reordered", shuffled
        yield "call-missing", correct[:-1]
    yield "call-duplicated", correct + correct[-1:]
    yield "no-call", []


def _render(output: list[dict]) -> str:
    calls = [ToolCall(name, args) for call in output for name, args in call.items()]
    return "Tool Invocation Sequence:\n" + "\n".join(f"{i}. {c.render()}" for i, c in enumerate(calls, 1))


def test_bfcl_mode_agrees_with_bfcl_ast_checker():
    checker = _ast_checker()
    rng = random.Random(SEED)
    bfcl, strict = MatchOptions(mode="bfcl"), MatchOptions(mode="strict")
    total, agree, agree_strict = Counter(), Counter(), Counter()
    disagreements: list[str] = []
    for category in CATEGORIES:
        for entry, truth in _load(category):
            expected = [ToolCall(name, {p: _accepted(v) for p, v in args.items()})
                        for name, args in (next(iter(c.items())) for c in truth)]
            tools = [ToolSpec(f["name"], _json_schema(f["parameters"])) for f in entry["function"]]
            steps = (len(expected),) if "parallel" in category else None
            for kind, output in _cases(entry, truth, rng):
                verdict = checker(entry["function"], output, truth, category)
                answer = _render(output)
                ours = score_answer(expected, answer, bfcl, tools=tools, steps=steps).exact
                total[kind] += 1
                agree[kind] += ours == verdict
                agree_strict[kind] += score_answer(expected, answer, strict, tools=tools, steps=steps).exact == verdict
                if ours != verdict and len(disagreements) < 20:
                    disagreements.append(f"{entry['id']} {kind}: BFCL {verdict}, deepeyes {ours}: {json.dumps(output)[:160]}")
    n, rate = sum(total.values()), sum(agree.values()) / sum(total.values())
    print(f"\n{n} cases; bfcl mode agrees with BFCL's ast_checker on {rate:.2%}; "
          f"strict mode on {sum(agree_strict.values()) / n:.2%}")
    for kind in sorted(total, key=lambda k: (agree[k] - total[k], k)):
        print(f"  {kind:28} {total[kind]:6} cases  bfcl {agree[kind] / total[kind]:7.2%}  strict {agree_strict[kind] / total[kind]:7.2%}")
    print("\n".join(disagreements))
    assert n >= 10_000
    assert rate >= 0.99
