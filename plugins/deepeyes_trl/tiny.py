"""The ``tiny`` recipe: a BPE tokenizer trained on the train split and a small Llama, from scratch.

For machines without model weights. The tokenizer's pre-tokenizer cuts text into words (with
their leading space), single digits, and single other characters, so BPE never merges across a
prompt/completion boundary: the tokens of a prompt are always a prefix of the tokens of
prompt + completion, which TRL's completion mask relies on. Digits stay single tokens, so
numbers are copied digit by digit rather than memorised as whole tokens.

Chat template (:data:`CHAT_TEMPLATE`): role markers are special tokens (``<|system|>``,
``<|tools|>``, ``<|user|>``, ``<|assistant|>``, ``<|tool|>``), every non-assistant turn ends with
``<|end|>`` and every assistant turn with the eos token (so generation stops at the end of one
step). An assistant turn is its text, then its calls as ``<tool_call>{"name": ..., "arguments":
{...}}</tool_call>``; a tool turn is the call's outcome. Tools, where given, are rendered after the
system text as names and argument names only (``name(arg, arg)``): the 512-token context of the
tiny model has no room for full JSON schemas, and the recipe learns the argument types from the
calls themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import LlamaConfig, PreTrainedTokenizerFast

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
#: The chat template's markers; special tokens, so each is one token and none is ever split.
MARKERS = ("<|system|>", "<|tools|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>")
CHAT_TEMPLATE = (
    "{%- for m in messages %}"
    "{%- if m['role'] == 'system' %}<|system|>{{ m['content'] }}<|end|>"
    "{%- if tools %}<|tools|>{% for t in tools %}{{ t['function']['name'] }}("
    "{{ (t['function']['parameters']['properties'] or {}) | list | join(', ') }})"
    "{% if not loop.last %}, {% endif %}{% endfor %}<|end|>{% endif %}"
    "{%- elif m['role'] == 'user' %}<|user|>{{ m['content'] }}<|end|>"
    "{%- elif m['role'] == 'assistant' %}<|assistant|>{{ m['content'] or '' }}"
    "{% for c in m['tool_calls'] or [] %}<tool_call>"
    "{{ {'name': c['function']['name'], 'arguments': c['function']['arguments']} | tojson }}"
    "</tool_call>{% endfor %}{{ eos_token }}"
    "{%- elif m['role'] == 'tool' %}<|tool|>{{ m['content'] }}<|end|>"
    "{%- endif %}{% endfor %}"
    "{%- if add_generation_prompt %}<|assistant|>{% endif %}"
)
#: Words with their leading space, single digits, any other single character.
PRE_TOKEN_PATTERN = r" ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer of at most ``vocab_size`` tokens, trained on ``texts``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRE_TOKEN_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, UNK, *MARKERS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   extra_special_tokens=list(MARKERS))
    fast.chat_template = CHAT_TEMPLATE
    return fast


def model_config(tokenizer: PreTrainedTokenizerFast, hidden_size: int, layers: int, heads: int,
                 max_length: int) -> LlamaConfig:
    """A Llama-shaped config sized for CPU training (MLP width 2x hidden, tied embeddings)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=max_length,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )


def build(texts: Iterable[str], settings: Any) -> tuple[Any, PreTrainedTokenizerFast]:
    """The randomly initialised model (seeded with ``settings.seed``) and its tokenizer (with
    :data:`CHAT_TEMPLATE`). ``texts``: the words of the training conversations."""
    import torch
    from transformers import LlamaForCausalLM

    tokenizer = train_tokenizer(texts, settings.tiny_vocab_size)
    config = model_config(tokenizer, settings.tiny_hidden_size, settings.tiny_layers, settings.tiny_heads,
                          settings.max_length)
    torch.manual_seed(settings.seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    return model, tokenizer
