"""The training engine of the ``trl`` backend: TRL's SFTTrainer on multi-turn conversations.

``train`` fits a causal LM (LoRA through peft by default, or full fine-tuning; the ``tiny`` recipe
trains a small Llama from scratch) on conversations rendered with the model's chat template (tools,
tool calls and tool results included), with the loss on the assistant turns only: the system text,
the user's turns and the tool results carry none (:mod:`deepeyes_trl.chats` builds the mask and
hands TRL ``input_ids`` + ``assistant_masks``). It checkpoints every epoch, resumes from the last
checkpoint of an interrupted run with the same settings and data, and records per-epoch loss and
token accuracy on train and val. ``generate`` answers conversations greedily, in batches, with one
assistant turn each (it stops at the end of the turn: eos); ``sample`` draws several at a temperature.

A model without a chat template (a base model) gets the tiny recipe's template
(:data:`deepeyes_trl.tiny.CHAT_TEMPLATE`). A conversation longer than ``max_length`` tokens is
cut there (TRL keeps its start), and the count of such conversations is logged and recorded in
``trl_config.json``.

torch, transformers, trl and peft are imported inside the functions, so importing this module
is cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from deepeyes_core import EpochMetrics, TrainingSettings

log = logging.getLogger(__name__)

#: One conversation: ``{"messages": [...], "tools": [...] or None}`` (see :mod:`deepeyes_trl.chats`).
Chat = dict[str, Any]
LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers")
#: Settings that only affect generation; a change in them does not invalidate a checkpoint.
GENERATION_ONLY = ("max_new_tokens", "generation_batch_size")


_RUN = attrs.fields(TrainingSettings)


@attrs.frozen
class TrlSettings:
    """How to train and generate. ``model`` is ``"tiny"`` or a local path / hub id of a causal LM."""

    model: str = "tiny"
    method: str = attrs.field(default="lora", validator=attrs.validators.in_(("lora", "full")))
    # A run's [trainer] settings replace these four (see TrlBackend); the defaults are the run's.
    epochs: int = _RUN.epochs.default
    learning_rate: float = _RUN.learning_rate.default  # the tiny recipe wants a high LR; real models e.g. 2e-4
    batch_size: int = _RUN.batch_size.default
    gradient_accumulation_steps: int = 1
    max_length: int = 512
    max_steps: int = -1  # > 0 caps the optimizer steps
    seed: int = _RUN.seed.default
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    max_new_tokens: int = 128
    generation_batch_size: int = 16
    #: Linear warmup: an int is a number of steps, a float in [0, 1) a fraction of all steps.
    warmup_steps: float = 0.05
    #: The tiny recipe (``model="tiny"``): BPE vocabulary cap, width, depth and attention heads.
    tiny_vocab_size: int = 1024
    tiny_hidden_size: int = 128
    tiny_layers: int = 4
    tiny_heads: int = 4

    @property
    def is_tiny(self) -> bool:
        return self.model == "tiny"


@attrs.frozen
class TrainOutcome:
    """What one ``train`` call did. ``wall_time_s`` is this call's time (a resumed run's earlier
    epochs are not in it); steps and tokens count the whole run, resumed part included."""

    epochs: list[EpochMetrics]
    total_steps: int
    total_tokens: int
    wall_time_s: float
    base_model_dir: Path
    trained_model_dir: Path
    device: str
    library_versions: dict[str, str]
    resumed_from: Path | None = None


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries the engine uses."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# -- formatting -------------------------------------------------------------------------------


def _ensure_chat_template(tokenizer: Any) -> bool:
    """Give a tokenizer without a chat template the tiny recipe's; True when it had its own."""
    if getattr(tokenizer, "chat_template", None):
        return True
    from .tiny import CHAT_TEMPLATE

    tokenizer.chat_template = CHAT_TEMPLATE
    return False


def _tokenized(chats: Sequence[Chat], tokenizer: Any, max_length: int) -> tuple[list[dict[str, list[int]]], int]:
    """(``input_ids`` + ``assistant_masks`` per chat, how many chats are longer than ``max_length``)."""
    from .chats import tokenize_with_mask

    rows = [tokenize_with_mask(tokenizer, chat) for chat in chats]
    return rows, sum(len(row["input_ids"]) > max_length for row in rows)


# -- the run record (trl_config.json) and resuming ------------------------------------------


def _fingerprint(chats: Sequence[Chat]) -> str:
    digest = hashlib.sha256()
    for chat in chats:
        digest.update(json.dumps(chat, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _run_key(settings: TrlSettings, train_chats: Sequence[Chat], val_chats: Sequence[Chat]) -> dict[str, Any]:
    """What must match for a checkpoint to be resumed: the training settings and the data."""
    training = {k: v for k, v in attrs.asdict(settings).items() if k not in GENERATION_ONLY}
    return {"settings": training, "train_sha256": _fingerprint(train_chats), "val_sha256": _fingerprint(val_chats)}


def _resumable_checkpoint(output_dir: Path, key: dict[str, Any]) -> Path | None:
    """The last checkpoint of an earlier run with the same key; stale checkpoints are removed."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints, record = output_dir / "checkpoints", output_dir / "trl_config.json"
    if not checkpoints.is_dir():
        return None
    try:
        same = json.loads(record.read_text())["run_key"] == key
    except (OSError, ValueError, KeyError):
        same = False
    last = get_last_checkpoint(str(checkpoints)) if same else None
    if last is None:
        if not same:
            log.warning("removing the checkpoints of a run with other settings or data: %s", checkpoints)
        shutil.rmtree(checkpoints)
        return None
    return Path(last)


def _write_json(path: Path, data: Any) -> None:
    """Write JSON to a temporary name and rename, so a crash never leaves a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    tmp.replace(path)


# -- models ------------------------------------------------------------------------------------


def _device() -> tuple[str, bool]:
    """(a description of the device, whether to train in bf16)."""
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return f"cuda ({torch.cuda.get_device_name(0)}{', bf16' if bf16 else ''})", bf16
    return "cpu", False


def _load_base(settings: TrlSettings, train_chats: Sequence[Chat], output_dir: Path, bf16: bool,
               resuming: bool) -> tuple[Any, Any, Path]:
    """(model, tokenizer, base model dir). Tiny: build the random init into base/ (reloaded from
    there when resuming)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.is_tiny:
        from . import tiny

        base = output_dir / "base"
        if not resuming or not (base / "config.json").is_file():
            shutil.rmtree(base, ignore_errors=True)
            from .chats import plain_text

            model, tokenizer = tiny.build((plain_text(chat) for chat in train_chats), settings)
            model.save_pretrained(base)
            tokenizer.save_pretrained(base)
        return AutoModelForCausalLM.from_pretrained(base), AutoTokenizer.from_pretrained(base), base
    # Full fine-tuning keeps fp32 master weights (bf16 autocast); LoRA's frozen base can be bf16.
    dtype = torch.bfloat16 if bf16 and settings.method == "lora" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(settings.model, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(settings.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, _local_dir(settings.model)


def _local_dir(model: str) -> Path:
    """A local directory holding ``model``: the path itself, or the hub cache's snapshot."""
    if Path(model).exists():
        return Path(model).resolve()
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model, local_files_only=True))


@contextmanager
def _quiet() -> Iterator[None]:
    """No tqdm bars from datasets and transformers (map, save, load): the caller reports progress."""
    import datasets
    from transformers.utils import logging as transformers_logging

    datasets_was_on = not datasets.are_progress_bars_disabled()
    transformers_was_on = transformers_logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if datasets_was_on:
            datasets.enable_progress_bars()
        if transformers_was_on:
            transformers_logging.enable_progress_bar()


def _progress_callback(on_progress: Callable[[int, int], None]) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            on_progress(state.global_step, state.max_steps)

    return Progress()


def _epoch_metrics(log_history: list[dict[str, Any]]) -> list[EpochMetrics]:
    """One EpochMetrics per epoch, from the trainer's logs (logged and evaluated once per epoch;
    train values are means over the epoch's batches, val values are at the epoch's end)."""
    train = [entry for entry in log_history if "loss" in entry]
    val = [entry for entry in log_history if "eval_loss" in entry]
    metrics = []
    for i, entry in enumerate(train):
        evaluated = val[i] if i < len(val) else {}
        metrics.append(EpochMetrics(
            epoch=i + 1,
            train_loss=entry.get("loss"),
            val_loss=evaluated.get("eval_loss"),
            train_token_accuracy=entry.get("mean_token_accuracy"),
            val_token_accuracy=evaluated.get("eval_mean_token_accuracy"),
        ))
    return metrics


# -- the public functions ------------------------------------------------------------------------


@_quiet()
def train(
    train_chats: list[Chat],
    val_chats: list[Chat],
    settings: TrlSettings,
    output_dir: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> TrainOutcome:
    """Fine-tune on conversations with the loss on the assistant turns only.

    Writes ``base/`` (tiny recipe: the random init and its tokenizer), ``checkpoints/`` (one per
    epoch), ``final/`` (model or LoRA adapter, tokenizer, trl_config.json) and ``trl_config.json``
    (the settings, the data's fingerprint, the SFTConfig and LoRA config used). An interrupted run
    with the same settings and data resumes from its last checkpoint.
    """
    from datasets import Dataset
    from transformers import PrinterCallback, set_seed
    from trl import SFTConfig, SFTTrainer

    if not train_chats:
        raise ValueError("no training conversations")
    started = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    key = _run_key(settings, train_chats, val_chats)
    resume = _resumable_checkpoint(output_dir, key)
    device, bf16 = _device()
    set_seed(settings.seed)
    model, tokenizer, base_dir = _load_base(settings, train_chats, output_dir, bf16, resuming=resume is not None)
    own_template = _ensure_chat_template(tokenizer)
    train_rows, train_cut = _tokenized(train_chats, tokenizer, settings.max_length)
    val_rows, val_cut = _tokenized(val_chats, tokenizer, settings.max_length)
    if train_cut or val_cut:
        log.warning("%d of %d train and %d of %d val conversations are longer than max_length=%d tokens and are "
                    "cut there (their later turns are not trained on)", train_cut, len(train_rows), val_cut,
                    len(val_rows), settings.max_length)
    lora = None if settings.is_tiny or settings.method == "full" else _lora_config(settings)
    per_epoch = "epoch" if val_chats else "no"
    config = SFTConfig(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        max_length=settings.max_length,
        assistant_only_loss=False,  # the mask comes with the data (assistant_masks), for any template
        seed=settings.seed,
        data_seed=settings.seed,
        bf16=bf16,
        activation_checkpointing=not settings.is_tiny,
        dataloader_pin_memory=device.startswith("cuda"),
        logging_strategy="epoch",
        eval_strategy=per_epoch,
        save_strategy="epoch",
        save_total_limit=2,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,
        dataset_num_proc=None,
    )
    _write_json(output_dir / "trl_config.json", {
        "run_key": key,
        "recipe": "tiny" if settings.is_tiny else settings.method,
        "prompt_format": "chat template" if own_template else "the tiny recipe's chat template",
        "loss": "assistant turns only (input_ids + assistant_masks from deepeyes_trl.chats)",
        "conversations_cut_at_max_length": {"train": train_cut, "val": val_cut},
        "train_examples": len(train_chats),
        "val_examples": len(val_chats),
        "sft_config": config.to_dict(),
        "lora_config": lora.to_dict() if lora is not None else None,
        "library_versions": library_versions(),
        "device": device,
    })
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(val_rows) if val_rows else None,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[_progress_callback(on_progress)] if on_progress else None,
    )
    trainer.remove_callback(PrinterCallback)  # metrics go into the outcome, progress to on_progress
    if resume is not None:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    final = output_dir / "final"
    shutil.rmtree(final, ignore_errors=True)  # no stale files of another run (an adapter beside a model)
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    shutil.copyfile(output_dir / "trl_config.json", final / "trl_config.json")
    return TrainOutcome(
        epochs=_epoch_metrics(trainer.state.log_history),
        total_steps=trainer.state.global_step,
        total_tokens=int(trainer.state.num_input_tokens_seen),
        wall_time_s=round(time.perf_counter() - started, 3),
        base_model_dir=base_dir,
        trained_model_dir=final,
        device=device,
        library_versions=library_versions(),
        resumed_from=resume,
    )


def _lora_config(settings: TrlSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")


def load_for_inference(model_dir: Path) -> tuple[Any, Any]:
    """(model in eval mode on the best device, tokenizer) from a model or LoRA adapter directory.
    An adapter is merged into its base model for speed."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    device, bf16 = _device()
    dtype = torch.bfloat16 if bf16 else torch.float32
    if (model_dir / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(model_dir, dtype=dtype).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    _ensure_chat_template(tokenizer)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # decoder-only batches are padded on the left for generation
    model.to("cuda" if device.startswith("cuda") else "cpu").eval()
    return model, tokenizer


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    configured = model.generation_config.eos_token_id
    configured = [] if configured is None else [configured] if isinstance(configured, int) else list(configured)
    return list(dict.fromkeys([tokenizer.eos_token_id, *configured]))


@_quiet()
def generate(model_dir: Path, prompts: list[Chat], settings: TrlSettings) -> list[str]:
    """The next assistant turn of each conversation, greedy, in order, as text (special tokens such
    as role markers left out); each stops at eos or after ``settings.max_new_tokens``.
    Conversations are batched by length, ``generation_batch_size`` at a time."""
    return [answers[0] for answers in _generate(model_dir, prompts, settings, 1, None, 0)]


@_quiet()
def sample(model_dir: Path, prompts: list[Chat], settings: TrlSettings, samples: int, temperature: float,
           seed: int) -> list[list[str]]:
    """``samples`` sampled next assistant turns of each conversation (``do_sample`` at
    ``temperature``, ``num_return_sequences=samples``), in order; the same for the same seed,
    prompts, model and device (torch's generator is seeded once, before the first batch)."""
    return _generate(model_dir, prompts, settings, samples, temperature, seed)


def _generate(model_dir: Path, prompts: list[Chat], settings: TrlSettings, samples: int,
              temperature: float | None, seed: int) -> list[list[str]]:
    """``samples`` answers per conversation: greedy when ``temperature`` is None, else sampled."""
    import torch

    from .chats import render

    if not prompts:
        return []
    model, tokenizer = load_for_inference(model_dir)
    texts = [render(tokenizer, chat, generation_prompt=True) for chat in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    eos = _eos_ids(model, tokenizer)
    answers: list[list[str]] = [[] for _ in texts]
    decoding: dict[str, Any] = {"do_sample": False}
    if temperature is not None:
        decoding = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0,
                    "num_return_sequences": samples}
        torch.manual_seed(seed)
    cut_short = 0
    for start in range(0, len(order), settings.generation_batch_size):
        batch = order[start:start + settings.generation_batch_size]
        # The chat template already renders the special tokens (as training did).
        inputs = tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True,
                           add_special_tokens=False).to(model.device)
        inputs.pop("token_type_ids", None)
        with torch.inference_mode():
            output = model.generate(**inputs, **decoding, max_new_tokens=settings.max_new_tokens,
                                    eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
        new_ids = output[:, inputs["input_ids"].shape[1]:]
        cut_short += sum(not any(token in eos for token in row) for row in new_ids.tolist())
        decoded = tokenizer.batch_decode(new_ids, skip_special_tokens=True)
        for row, text in enumerate(decoded):  # rows: each prompt's samples together, in batch order
            answers[batch[row // samples]].append(text.strip())
    if cut_short:
        log.warning("%s: %d of %d answers stopped at max_new_tokens=%d before their end (a model that has not "
                    "learnt to stop never ends; raise the limit if completions are longer)",
                    model_dir, cut_short, len(prompts) * samples, settings.max_new_tokens)
    return answers
