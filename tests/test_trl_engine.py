"""The ``trl`` backend's engine: tiny recipe trains and saves, resumes after an interruption,
LoRA and full fine-tuning of a local model, and a cheap import. Skipped without the "trl" extra."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from deepeyes_trl import engine, synthetic  # noqa: E402
from deepeyes_trl.engine import TrlSettings  # noqa: E402

#: 64 train conversations at batch 8: 8 steps an epoch.
TRAIN, VAL, TEST = synthetic.split_chats(n_train=64, n_val=16, n_test=8, seed=1)
#: The user's turn of each test conversation: what the model answers.
PROMPTS = [{"messages": chat["messages"][:1], "tools": None} for chat in TEST]
FAST = TrlSettings(epochs=3, batch_size=8, learning_rate=3e-3, max_length=256, max_new_tokens=48,
                   tiny_hidden_size=64, tiny_layers=2, tiny_heads=2)


class Interrupt(Exception):
    """Stands in for a crash or a Ctrl-C in the middle of training."""


def test_tiny_recipe_trains_and_saves_its_artefacts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    steps: list[tuple[int, int]] = []
    outcome = engine.train(TRAIN, VAL, FAST, tmp_path, on_progress=lambda done, total: steps.append((done, total)))

    assert [e.epoch for e in outcome.epochs] == [1, 2, 3]
    first, last = outcome.epochs[0], outcome.epochs[-1]
    assert last.train_loss < first.train_loss
    assert last.val_loss < first.val_loss
    assert 0.0 <= first.val_token_accuracy <= last.val_token_accuracy <= 1.0
    assert outcome.total_steps == 24 and steps[-1] == (24, 24)
    assert outcome.total_tokens > 0 and outcome.wall_time_s > 0 and outcome.device
    assert outcome.library_versions["trl"] != "not installed"

    assert outcome.base_model_dir == tmp_path / "base"
    assert outcome.trained_model_dir == tmp_path / "final"
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (tmp_path / "base" / name).is_file()
        assert (tmp_path / "final" / name).is_file()
    assert list((tmp_path / "checkpoints").glob("checkpoint-*"))
    record = json.loads((tmp_path / "trl_config.json").read_text())
    assert record["run_key"]["settings"]["learning_rate"] == 3e-3
    assert record["loss"].startswith("assistant turns only") and record["sft_config"]["assistant_only_loss"] is False
    assert record["conversations_cut_at_max_length"] == {"train": 0, "val": 0}
    assert (tmp_path / "final" / "trl_config.json").read_text() == (tmp_path / "trl_config.json").read_text()

    prompts = PROMPTS
    answers = engine.generate(outcome.trained_model_dir, prompts, FAST)
    assert len(answers) == len(prompts) and all(isinstance(a, str) for a in answers)
    assert not any(p["messages"][0]["content"] in answer for p, answer in zip(prompts, answers))
    # Batched generation answers each prompt as it would alone.
    assert engine.generate(outcome.trained_model_dir, prompts[:1], FAST) == answers[:1]
    # Answers cut off by max_new_tokens are said, not silently scored.
    with caplog.at_level(logging.WARNING, logger="deepeyes_trl.engine"):
        engine.generate(outcome.trained_model_dir, prompts[:2], attrs.evolve(FAST, max_new_tokens=2))
    assert "2 of 2 answers stopped at max_new_tokens=2" in caplog.text


def test_resumes_from_the_last_checkpoint_after_an_interruption(tmp_path: Path) -> None:
    settings = FAST

    def crash_in_epoch_two(done: int, total: int) -> None:
        if done == 10:  # epoch 1 (steps 1-8) is checkpointed, epoch 2 is under way
            raise Interrupt

    with pytest.raises(Interrupt):
        engine.train(TRAIN, VAL, settings, tmp_path / "run", on_progress=crash_in_epoch_two)
    assert [p.name for p in (tmp_path / "run" / "checkpoints").glob("checkpoint-*")] == ["checkpoint-8"]

    resumed_steps: list[int] = []
    resumed = engine.train(TRAIN, VAL, settings, tmp_path / "run", on_progress=lambda done, _: resumed_steps.append(done))
    assert resumed.resumed_from == tmp_path / "run" / "checkpoints" / "checkpoint-8"
    assert resumed_steps[0] == 9 and resumed.total_steps == 24
    assert [e.epoch for e in resumed.epochs] == [1, 2, 3]

    # The resumed run ends where an uninterrupted one does.
    straight = engine.train(TRAIN, VAL, settings, tmp_path / "straight")
    assert straight.resumed_from is None
    assert resumed.epochs[-1].val_loss == pytest.approx(straight.epochs[-1].val_loss, rel=1e-3)
    assert resumed.total_tokens == straight.total_tokens


def test_changed_settings_start_afresh(tmp_path: Path) -> None:
    engine.train(TRAIN, VAL, TrlSettings(**{**_fields(FAST), "max_steps": 2}), tmp_path)
    assert (tmp_path / "checkpoints" / "checkpoint-2").is_dir()
    outcome = engine.train(TRAIN, VAL, TrlSettings(**{**_fields(FAST), "max_steps": 3}), tmp_path)
    assert outcome.resumed_from is None and outcome.total_steps == 3
    assert not (tmp_path / "checkpoints" / "checkpoint-2").exists()


def _fields(settings: TrlSettings) -> dict:
    return attrs.asdict(settings)


@pytest.fixture(scope="module")
def local_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Llama saved as a user's local checkpoint would be, with a chat template."""
    from deepeyes_trl import tiny

    path = tmp_path_factory.mktemp("local-model")
    from deepeyes_trl.chats import plain_text

    model, tokenizer = tiny.build((plain_text(chat) for chat in TRAIN), TrlSettings(
        tiny_hidden_size=64, tiny_layers=2, tiny_heads=2, tiny_vocab_size=600, max_length=512))
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% if m['role'] == 'assistant' %}"
        "{% for c in m['tool_calls'] or [] %}<tool_call>{{ c['function'] | tojson }}</tool_call>{% endfor %}"
        "{{ eos_token }}{% endif %}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_lora_on_a_local_model_with_a_chat_template(local_model: Path, tmp_path: Path) -> None:
    settings = TrlSettings(model=str(local_model), method="lora", max_steps=3, epochs=1, lora_r=4, lora_alpha=8,
                           max_length=256, max_new_tokens=8)
    outcome = engine.train(TRAIN, VAL, settings, tmp_path)
    assert outcome.base_model_dir == local_model.resolve()
    assert (tmp_path / "final" / "adapter_config.json").is_file()
    assert not (tmp_path / "final" / "model.safetensors").exists()
    record = json.loads((tmp_path / "trl_config.json").read_text())
    assert record["prompt_format"] == "chat template" and record["lora_config"]["r"] == 4
    answers = engine.generate(outcome.trained_model_dir, PROMPTS[:3], settings)
    assert len(answers) == 3


def test_full_fine_tuning_of_a_local_model(local_model: Path, tmp_path: Path) -> None:
    settings = TrlSettings(model=str(local_model), method="full", max_steps=2, epochs=1, max_length=256)
    outcome = engine.train(TRAIN, [], settings, tmp_path)
    assert outcome.epochs[0].val_loss is None and outcome.epochs[0].train_loss is not None
    assert (tmp_path / "final" / "model.safetensors").is_file()


def test_importing_the_engine_is_cheap() -> None:
    code = "import sys, deepeyes_trl.engine; print(sorted({'torch', 'transformers', 'trl', 'peft'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
