"""The ``trl`` export, loaded the way a TRL user loads it and tokenised by TRL itself.

Both files (JSONL and Parquet) go through ``datasets.load_dataset`` (all splits at once) and give
back every call's arguments, the tools and the metadata byte for byte, with the installed
``datasets`` (5.x) and with ``datasets`` 4.0.0 (the version LLaMA-Factory pins) in a throwaway
virtual environment. ``SFTTrainer``'s own dataset preparation with ``assistant_only_loss=True``
runs under a chat template that renders ``tools``, assistant ``tool_calls`` with string arguments
and ``tool`` results (Qwen3's, as TRL ships it), with a tiny BPE tokenizer trained here: no model
or tokenizer is downloaded. The tokens left for the loss must spell every tool call and the final
answer, and the results must be in the text but not learned.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

datasets = pytest.importorskip("datasets")
pytest.importorskip("pyarrow")
pytest.importorskip("tokenizers")
pytest.importorskip("transformers")
pytest.importorskip("trl")

# TRL's own SFTConfig sets a transformers option that transformers now calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated:FutureWarning")

from deepeyes_trl.exporters import TrlExporter, template_messages

from deepeyes_core import Step, StepCall, ToolResult, ToolSpec, TrainingExample

TOOLS = (
    ToolSpec(
        "web_search",
        {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}},
        "Search the web",
    ),
    ToolSpec("http_get", {"type": "object", "properties": {"url": {"type": "string"}}}, "Fetch a URL"),
    ToolSpec(
        "send_email",
        {"type": "object", "properties": {"to": {"type": "string"}, "cc": {"type": "array"}, "at": {"type": "string"}}},
    ),
)


def examples() -> list[TrainingExample]:
    """12 trajectories whose arguments differ in keys and types from call to call (a date
    string, a null, a nested object), with results, a failure, parallel calls and final answers."""
    out = []
    for i in range(12):
        calls = [
            ("web_search", {"query": f"quarterly report {i}", "limit": 3 + i} if i % 2 else {"query": f"q{i}"}),
            ("http_get", {"url": f"https://example.org/r{i}", "headers": {"x-n": i}} if i % 3 else {"url": None}),
            ("send_email", {"to": f"ops{i}@example.org", "cc": ["lead@example.org"], "at": "2025-11-10"}),
        ][i % 3 : i % 3 + 1 + i % 2]
        made = [
            StepCall(name, args, f"c{i}.{n}", ToolResult(None, True, "HTTP 503") if (i + n) % 5 == 4 else ToolResult(f'{{"n":{i * 10 + n}}}'))
            for n, (name, args) in enumerate(calls)
        ]
        steps = (Step(tuple(made), "Two at once." if i % 4 == 1 else None),) if len(made) == 2 and i % 4 == 1 else tuple(
            Step((call,)) for call in made
        )
        out.append(
            TrainingExample(
                task_id=f"t{i}",
                task_description=f"Handle request {i}",
                tool_sequence=tuple(n for n, _ in calls),
                tool_parameters=tuple(a for _, a in calls),
                difficulty="easy" if len(calls) == 1 else "medium",
                tools=TOOLS,
                steps=steps,
                final_answer=f"Request {i} handled." if i % 3 != 2 else None,
            )
        )
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    data = examples()
    splits = {"train": data[:8], "val": data[8:10], "test": data[10:]}
    files = TrlExporter(TrlExporter.Options()).export(splits, out, "catalogue")
    return data, files


def written(files) -> dict[str, list[dict]]:
    """What the JSONL files hold, per split: the bytes every reader must give back."""
    return {
        split: [json.loads(line) for line in files[split].read_text(encoding="utf-8").splitlines()]
        for split in ("train", "val", "test")
    }


def json_fields(rows) -> list:
    """Every call's arguments, the tools and the metadata of each row (strings, as written)."""
    return [
        (
            [c["function"]["arguments"] for m in row["messages"] if m.get("tool_calls") for c in m["tool_calls"]],
            row["tools"],
            row["metadata"],
            [m.get("content") for m in row["messages"] if m["role"] == "tool"],
        )
        for row in rows
    ]


@pytest.fixture(scope="module")
def tokenizer(exported):
    """A byte-level BPE tokenizer trained on the exported text, with Qwen3's chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen3_chat_template, supports_tool_calling

    _, files = exported
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([files["train"].read_text(encoding="utf-8")], trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token="<unk>"
    )
    tok.chat_template = qwen3_chat_template
    assert supports_tool_calling(tok)
    return tok


def tiny_model(tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def data_files(files, kind: str) -> dict[str, str]:
    return {split: str(files[split if kind == "json" else f"{split}.{kind}"]) for split in ("train", "val", "test")}


@pytest.mark.parametrize("kind", ["json", "parquet"])
def test_datasets_loads_all_splits_together_and_gives_back_the_exact_json(exported, kind):
    _, files = exported
    loaded = datasets.load_dataset(kind, data_files=data_files(files, kind))
    for split, rows in written(files).items():
        assert len(loaded[split]) == len(rows)
        assert json_fields(loaded[split]) == json_fields(rows)
        assert loaded[split]["task_id"] == [row["task_id"] for row in rows]


def test_datasets_4_reads_the_export_back_byte_for_byte(exported, tmp_path):
    """datasets 4.0.0 in a clean virtual environment (skipped where pip cannot install it)."""
    _, files = exported
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    python = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    try:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "datasets==4.0.0"],
            check=True, timeout=120, capture_output=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"pip cannot install datasets 4.0.0 here: {getattr(exc, 'stderr', b'')[-300:]!r}")
    script = textwrap.dedent(
        """
        import json, sys
        import datasets
        assert datasets.__version__ == "4.0.0", datasets.__version__
        out = {}
        for kind, files in json.loads(sys.argv[1]).items():
            loaded = datasets.load_dataset(kind, data_files=files)
            out[kind] = {split: loaded[split].to_list() for split in files}
        print(json.dumps(out))
        """
    )
    arguments = json.dumps({kind: data_files(files, kind) for kind in ("json", "parquet")})
    result = subprocess.run([str(python), "-c", script, arguments], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout)
    for kind in ("json", "parquet"):
        for split, rows in written(files).items():
            assert json_fields(loaded[kind][split]) == json_fields(rows), (kind, split)


def test_template_messages_decodes_arguments_for_templates_that_want_dicts(exported):
    data, files = exported
    row = datasets.load_dataset("json", data_files=str(files["train"]), split="train")[1]
    messages = template_messages(row["messages"])
    calls = [c["function"] for m in messages if m.get("tool_calls") for c in m["tool_calls"]]
    assert calls == [{"name": c.name, "arguments": c.arguments} for step in data[1].steps for c in step.calls]
    assert all(None not in m.values() for m in messages)


@pytest.mark.parametrize("kind", ["json", "parquet"])
def test_trl_tokenises_the_tool_calls_into_the_assistant_only_loss(exported, tokenizer, tmp_path, kind):
    from trl import SFTConfig, SFTTrainer

    data, files = exported
    config = SFTConfig(
        output_dir=str(tmp_path),
        assistant_only_loss=True,
        report_to=[],
        max_steps=1,
        per_device_train_batch_size=2,
        use_cpu=True,
        save_strategy="no",
    )
    loaded = datasets.load_dataset(kind, data_files=data_files(files, kind))
    trainer = SFTTrainer(
        model=tiny_model(tokenizer),
        args=config,
        processing_class=tokenizer,
        train_dataset=loaded["train"],
        eval_dataset=loaded["val"],
    )
    prepared = trainer.train_dataset
    assert {"input_ids", "labels"} <= set(prepared.column_names)
    for row, ex in zip(prepared, data[:8]):
        text = tokenizer.decode(row["input_ids"])
        learned = tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"]) if label != -100])
        # the template showed the model its tools, and the loss covers exactly the agent's turns
        assert "<tools>" in text and '"name": "send_email"' in text
        assert ex.task_description in text and ex.task_description not in learned
        rendered = [json.loads(chunk.split("</tool_call>")[0]) for chunk in learned.split("<tool_call>")[1:]]
        assert rendered == [{"name": c.name, "arguments": c.arguments} for step in ex.steps for c in step.calls]
        for step in ex.steps:
            for call in step.calls:
                outcome = call.result.content if call.result.content is not None else call.result.error
                assert f"<tool_response>\n{outcome}\n</tool_response>" in text
                assert "<tool_response>" not in learned
        if ex.final_answer:
            assert ex.final_answer in learned
    trainer.train()  # one optimiser step: the prepared data trains
