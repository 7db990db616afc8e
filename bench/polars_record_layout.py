"""Yardstick (not part of deepeyes): deepeyes' own training records for a generated log, written by one polars query.

The peer script (``../shared/peers/polars_pipeline.py``) writes a short record: a one-line prompt and the calls. A
deepeyes record carries more: the template describer's sentence naming every argument, the agent's tool catalogue
(names and argument types) in every prompt, numbered calls as JSON, the session, and the file and line of every call.
This script writes exactly that record, byte for byte, for every kept trajectory, with the work done the way polars
does it best, so that ``bench_pipeline.py`` can show what the record layout alone costs in polars. It does nothing
else deepeyes does: no secret redaction, no dedup, no split, no leakage count, no rejects file, no statistics.

It handles what ``../shared/peers/gen_invocations.py`` writes (flat arguments of strings and integers, epoch
timestamps, a session id on every line); ``bench_pipeline.py`` checks its records against deepeyes' own.

Usage: polars_record_layout.py IN.jsonl OUT.jsonl
"""

import hashlib
import sys

import polars as pl

INSTRUCTION = "Based on the task description and available tools, generate the correct tool invocation sequence."
#: One argument of a flat JSON object as polars writes it: "key": "string" | integer | true | false | null.
PAIR = r'"([^"\\]*)": ("[^"\\]*"|-?\d+|true|false|null)'


def main(src: str, out: str) -> None:
    schema = {"tool_name": pl.String, "agent_name": pl.String, "session_id": pl.String, "parameters": pl.String,
              "status": pl.String, "timestamp": pl.Float64}
    calls = pl.read_ndjson(src, schema=schema).with_row_index("line", offset=1).with_columns(
        ok=pl.col("status").str.to_lowercase() == "success",
        pairs=pl.col("parameters").str.extract_all(PAIR),
    )
    words = pl.element().str.replace(r'^"([^"]*)": ', "$1 ").str.replace_all("_", " ", literal=True)
    said = pl.col("said")  # each argument in words: 'key "value"', 'max rows 5'
    calls = calls.with_columns(said=pl.col("pairs").list.eval(words)).with_columns(
        clause=pl.format("use the {} tool with {}", pl.col("tool_name").str.replace_all(r"[_.\-]", " "),
                         pl.when(said.list.len() == 1).then(said.list.first())
                         .otherwise(pl.format("{} and {}", said.list.head(said.list.len() - 1).list.join(", "),
                                              said.list.last()))),
    )
    kept = (calls.sort("timestamp", maintain_order=True)
            .group_by("agent_name", "session_id", maintain_order=True)
            .agg("tool_name", "clause", "parameters", "line", "pairs", rate=pl.col("ok").mean(), n=pl.len(),
                 ts=pl.col("timestamp").first())
            .filter((pl.col("rate") >= 0.9) & (pl.col("n") <= 5)))

    # The tool catalogue: argument names and JSON types seen per tool, tools per agent (a small table).
    seen = (kept.select("agent_name", "tool_name", "pairs").explode("tool_name", "pairs").explode("pairs")
            .with_columns(key=pl.col("pairs").str.extract(r'^"([^"]*)"'),
                          kind=pl.col("pairs").str.extract(r'": (.)').replace_strict(
                              {'"': "string", "t": "boolean", "f": "boolean", "n": "null"}, default="integer")))
    schemas: dict[str, dict[str, set[str]]] = {}
    for tool, key, kind in seen.select("tool_name", "key", "kind").unique().iter_rows():
        entry = schemas.setdefault(tool, {})
        if key is not None:
            entry.setdefault(key, set()).add(kind)

    def signature(tool: str) -> str:
        args = []
        for key, kinds in sorted(schemas[tool].items()):
            types = sorted(kinds - {"null"}) or ["null"]
            args.append(f"{key}: {types[0] if len(types) == 1 else types}")
        return f"{tool}({', '.join(args)})"

    tools = seen.select("agent_name", "tool_name").unique().group_by("agent_name").agg(pl.col("tool_name").sort())
    catalogue = pl.DataFrame({"agent_name": tools["agent_name"],
                              "catalogue": ["\n".join(f"- {signature(t)}" for t in names) for names in tools["tool_name"]]})

    n = pl.col("n")
    ids = [f"{a}/{s}".encode() for a, s in kept.select("agent_name", "session_id").iter_rows()]
    us = ((pl.col("ts") - pl.col("ts").floor()) * 1e6).round()
    moment = pl.from_epoch(pl.col("ts").floor().cast(pl.Int64) * 1_000_000 + us.cast(pl.Int64), "us")
    records = kept.join(catalogue, on="agent_name", how="left", maintain_order="left").with_columns(
        task_id=pl.Series(["task_" + hashlib.blake2b(i, digest_size=8).hexdigest() for i in ids]),
        task=pl.when(n == 1).then(pl.format("{}{}.", pl.col("clause").list.first().str.head(1).str.to_uppercase(),
                                            pl.col("clause").list.first().str.slice(1)))
        .otherwise(pl.format("First, {}, and finally {}.", pl.col("clause").list.head(n - 1).list.join(", then "),
                             pl.col("clause").list.last())),
        difficulty=pl.when(n == 1).then(pl.lit("easy")).when(n <= 3).then(pl.lit("medium")).otherwise(pl.lit("hard")),
        numbered=pl.concat_list([pl.format("{}. {}({})", pl.lit(i + 1), pl.col("tool_name").list.get(i, null_on_oob=True),
                                           pl.col("parameters").list.get(i, null_on_oob=True)) for i in range(5)])
        .list.drop_nulls().list.join("\n"),
        stamp=pl.when(us == 0).then(moment.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
        .otherwise(moment.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")),
        provenance=pl.col("line").list.eval(pl.format(src + ":{}", pl.element())),
    )
    records.select(
        "task_id",
        prompt=pl.format("Task: {}\n\nAvailable tools:\n{}\n\n" + INSTRUCTION, pl.col("task"), pl.col("catalogue")),
        completion=pl.format("Tool Invocation Sequence:\n{}", pl.col("numbered")),
        metadata=pl.struct(tool_sequence="tool_name", difficulty="difficulty", agent="agent_name",
                           success=pl.col("rate") == 1.0, timestamp="stamp", session_id="session_id",
                           source=pl.lit("baseline"), provenance="provenance"),
    ).write_ndjson(out)
    print(len(records), "examples")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
