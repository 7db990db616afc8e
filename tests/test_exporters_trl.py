"""The ``trl`` export, loaded the way a TRL user loads it and tokenised by TRL itself.

Both files (JSONL and Parquet) go through ``datasets.load_dataset`` and ``SFTTrainer``'s own dataset
preparation with ``assistant_only_loss=True``, under a chat template that renders ``tools`` and
assistant ``tool_calls`` (Qwen2.5's, as TRL ships it), with a tiny BPE tokenizer trained here: no
model or tokenizer is downloaded. The tokens left for the loss must spell every tool call.
"""

from __future__ import annotations

import json

import pytest

datasets = pytest.importorskip("datasets")
pytest.importorskip("pyarrow")
pytest.importorskip("tokenizers")
pytest.importorskip("transformers")
pytest.importorskip("trl")

# TRL's own SFTConfig sets a transformers option that transformers now calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated:FutureWarning")

from deepeyes_trl.exporters import TrlExporter

from deepeyes_core import ToolSpec, TrainingExample

TOOLS = (
    ToolSpec(
        "web_search",
        {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}},
        "Search the web",
    ),
    ToolSpec("http_get", {"type": "object", "properties": {"url": {"type": "string"}}}, "Fetch a URL"),
    ToolSpec(
        "send_email", {"type": "object", "properties": {"to": {"type": "string"}, "cc": {"type": "array"}}}
    ),
)


def examples() -> list[TrainingExample]:
    out = []
    for i in range(12):
        calls = [
            ("web_search", {"query": f"quarterly report {i}", "limit": 3 + i}),
            ("http_get", {"url": f"https://example.org/r{i}"}),
            ("send_email", {"to": f"ops{i}@example.org", "cc": ["lead@example.org"]}),
        ][i % 3 : i % 3 + 1 + i % 2]
        out.append(
            TrainingExample(
                task_id=f"t{i}",
                task_description=f"Handle request {i}",
                tool_sequence=tuple(n for n, _ in calls),
                tool_parameters=tuple(a for _, a in calls),
                difficulty="easy" if len(calls) == 1 else "medium",
                tools=TOOLS,
            )
        )
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    data = examples()
    files = TrlExporter(TrlExporter.Options()).export({"train": data[:8], "val": data[8:]}, out, "catalogue")
    return data, files


@pytest.fixture(scope="module")
def tokenizer(exported):
    """A byte-level BPE tokenizer trained on the exported text, with Qwen2.5's chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen2_5_chat_template, supports_tool_calling

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
    tok.chat_template = qwen2_5_chat_template
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
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def load(files, kind: str, split: str = "train"):
    key = split if kind == "json" else f"{split}.{kind}"
    return datasets.load_dataset(kind, data_files=str(files[key]), split="train")


@pytest.mark.parametrize("kind", ["json", "parquet"])
def test_datasets_reads_arguments_back_as_dicts(exported, kind):
    data, files = exported
    dataset = load(files, kind)
    assert len(dataset) == 8
    for row, ex in zip(dataset, data[:8]):
        calls = row["messages"][-1]["tool_calls"]
        assert [(c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
            (call.name, call.arguments) for call in ex.calls
        ]
        tools = row["tools"] if not isinstance(row["tools"], str) else json.loads(row["tools"])
        assert [t["function"]["name"] for t in tools] == ["web_search", "http_get", "send_email"]
        assert row["task_id"] == ex.task_id
        metadata = row["metadata"] if isinstance(row["metadata"], dict) else json.loads(row["metadata"])
        assert metadata["difficulty"] == ex.difficulty


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
    trainer = SFTTrainer(
        model=tiny_model(tokenizer),
        args=config,
        processing_class=tokenizer,
        train_dataset=load(files, kind),
        eval_dataset=load(files, kind, "val"),
    )
    prepared = trainer.train_dataset
    assert {"input_ids", "labels"} <= set(prepared.column_names)
    for row, ex in zip(prepared, data[:8]):
        text = tokenizer.decode(row["input_ids"])
        learned = tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"]) if label != -100])
        # the template showed the model its tools, and the loss covers exactly the calls
        assert "<tools>" in text and '"name": "send_email"' in text
        assert ex.task_description in text and ex.task_description not in learned
        rendered = [json.loads(chunk.split("</tool_call>")[0]) for chunk in learned.split("<tool_call>")[1:]]
        assert rendered == [{"name": call.name, "arguments": call.arguments} for call in ex.calls]
        for call in ex.calls:
            for value in call.arguments.values():
                assert json.dumps(value) in learned
    trainer.train()  # one optimiser step: the prepared data trains
