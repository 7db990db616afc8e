"""What the ``trl`` backend trains on: a multi-step trajectory as chat-template messages, the loss
on the assistant turns only, tool calls parsed back, and ``generate_steps`` end to end.
Skipped without the "trl" extra."""

from __future__ import annotations

import asyncio
from pathlib import Path

import attrs
import pytest

pytest.importorskip("trl")

from deepeyes_core import (  # noqa: E402
    CHAT_SYSTEM_PROMPT,
    AssistantTurn,
    ToolCall,
    ToolSpec,
    TrainingExample,
    TrainingSettings,
    Trajectory,
    example_steps,
    step_prompts,
)
from deepeyes_trl import chats, tiny  # noqa: E402
from deepeyes_trl.backend import TrlBackend  # noqa: E402
from deepeyes_trl.engine import TrlSettings  # noqa: E402
from tests.conftest import invocation  # noqa: E402

TASK = "Get the weather in Paris and Berlin, then email bob"


def trajectory_example(task_id: str = "t1", city: str = "Berlin") -> TrainingExample:
    """Two steps as a log records them: two weather calls made together (the second failed, with its
    error), then an email with the agent's text; then the agent's final answer."""
    calls = (
        attrs.evolve(invocation("weather", at=0, city="Paris"), result={"temp": 12}),
        invocation("weather", ok=False, at=1, city=city),
        attrs.evolve(invocation("send_email", at=2, to="bob@example.com"), result="sent"),
    )
    trajectory = Trajectory("A", calls, turns=(AssistantTurn(2), AssistantTurn(1, "Paris only, then.")))
    return TrainingExample(
        task_id=task_id, task_description=f"{TASK} ({city})", tool_sequence=tuple(c.tool_name for c in calls),
        tool_parameters=tuple(c.parameters for c in calls), difficulty="medium",
        tools=(ToolSpec("weather", {"type": "object", "properties": {"city": {"type": "string"}}}),
               ToolSpec("send_email", {"type": "object", "properties": {"to": {"type": "string"}}})),
        steps=example_steps(trajectory, budget=1000), final_answer="It is 12 degrees in Paris; Berlin timed out.",
    )


@pytest.fixture(scope="module")
def tokenizer():
    chat = chats.example_chat(trajectory_example(), with_tools=True)
    return tiny.train_tokenizer([chats.plain_text(chat)] * 4, vocab_size=500)


def runs(tokenizer, ids: list[int], mask: list[int]) -> tuple[list[str], list[str]]:
    """(the text of each run of loss tokens, the text of each run of the others)."""
    loss: list[str] = []
    other: list[str] = []
    previous = None
    for token, bit in zip(ids, mask):
        text = tokenizer.decode([token])
        target = loss if bit else other
        if bit == previous:
            target[-1] += text
        else:
            target.append(text)
        previous = bit
    return loss, other


def test_loss_is_on_the_assistant_turns_only(tokenizer) -> None:
    chat = chats.example_chat(trajectory_example(), with_tools=True)
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant", "tool", "assistant"]
    row = chats.tokenize_with_mask(tokenizer, chat)
    loss, other = runs(tokenizer, row["input_ids"], row["assistant_masks"])

    call = chats.render_call
    assert loss == [
        call("weather", {"city": "Paris"}) + call("weather", {"city": "Berlin"}) + "</s>",
        "Paris only, then." + call("send_email", {"to": "bob@example.com"}) + "</s>",
        "It is 12 degrees in Paris; Berlin timed out.</s>",
    ]
    assert other == [
        f"<|system|>{CHAT_SYSTEM_PROMPT}<|end|><|tools|>weather(city), send_email(to)<|end|>"
        f"<|user|>{TASK} (Berlin)<|end|><|assistant|>",
        '<|tool|>{"temp":12}<|end|><|tool|>Error: timeout after 5s<|end|><|assistant|>',  # real result, real error
        "<|tool|>sent<|end|><|assistant|>",
    ]
    # The mask covers the tokens of the whole rendering, which is what the template writes.
    assert tokenizer.decode(row["input_ids"]) == chats.render(tokenizer, chat)


def test_tools_are_left_out_unless_asked_for(tokenizer) -> None:
    text = chats.render(tokenizer, chats.example_chat(trajectory_example(), with_tools=False))
    assert "<|tools|>" not in text and text.startswith("<|system|>")


def test_a_call_without_a_recorded_result_says_so() -> None:
    example = trajectory_example()
    step = example.steps[1]
    bare = attrs.evolve(step, calls=(attrs.evolve(step.calls[0], result=None),))
    chat = chats.example_chat(attrs.evolve(example, steps=(example.steps[0], bare)), with_tools=False)
    assert chat["messages"][-2] == {"role": "tool", "tool_call_id": step.calls[0].call_id, "name": "send_email",
                                    "content": chats.NO_RESULT}


def test_calls_are_parsed_back_from_a_generated_turn() -> None:
    text = "Let me look." + chats.render_call("weather", {"city": "Paris"}) + chats.render_call("w", {"n": 1})
    assert chats.parse_calls(text) == (ToolCall("weather", {"city": "Paris"}), ToolCall("w", {"n": 1}))
    # Arguments as a JSON string (some templates write them so), and a broken block kept as a wrong call.
    odd = '<tool_call>{"name": "w", "arguments": "{\\"n\\": 2}"}</tool_call><tool_call>{"name": w}</tool_call>'
    assert chats.parse_calls(odd) == (ToolCall("w", {"n": 2}), ToolCall("", {"unparsed": '{"name": w}'}))
    assert chats.parse_calls("Done, it is sunny.") == ()


def test_trl_builds_its_labels_from_the_mask(tokenizer, tmp_path: Path) -> None:
    from datasets import Dataset
    from transformers import LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    row = chats.tokenize_with_mask(tokenizer, chats.example_chat(trajectory_example(), with_tools=True))
    config = tiny.model_config(tokenizer, 32, 1, 1, 512)
    trainer = SFTTrainer(model=LlamaForCausalLM(config), processing_class=tokenizer,
                         train_dataset=Dataset.from_list([row]),
                         args=SFTConfig(output_dir=str(tmp_path), max_length=512, report_to="none", bf16=False))
    labels = trainer.train_dataset[0]["labels"]
    assert labels == [token if bit else -100 for token, bit in zip(row["input_ids"], row["assistant_masks"])]


def test_the_backend_trains_on_trajectories_and_answers_step_prompts(tmp_path: Path) -> None:
    examples = [trajectory_example(f"t{i}", city) for i, city in enumerate(["Berlin", "Rome", "Oslo", "Lima"])]
    backend = TrlBackend(TrlSettings(max_steps=2, max_new_tokens=12, tiny_hidden_size=32, tiny_layers=1,
                                     tiny_heads=1, tiny_vocab_size=400))
    assert asyncio.run(backend.generate_steps("trained", [])) is None  # nothing trained yet
    run = asyncio.run(backend.train(examples[:3], examples[3:], TrainingSettings("tiny", epochs=1, batch_size=2,
                                                                                   prompt_layout="task"), tmp_path))
    assert run.trained and run.extra["tools_rendered"] is False
    prompts = step_prompts(examples[3])
    for role in ("base", "trained"):
        answers = asyncio.run(backend.generate_steps(role, prompts))
        assert len(answers) == 2 and all(isinstance(a, tuple) for a in answers)
        assert all(isinstance(c, ToolCall) for a in answers for c in a)
    blind = asyncio.run(backend.generate("trained", [examples[3].prompt("task")]))
    assert len(blind) == 1 and isinstance(blind[0], str)
