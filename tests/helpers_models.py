"""Tiny tokenizer + model fixtures for pipeline, evaluation and finetuning tests (built once per session)."""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import re
import sys

from needle_hf.tokenization import train_tokenizer
from needle_hf.tools import answers_to_text, parse_tools, tools_to_text

WEATHER = {"name": "get_weather", "description": "Current weather for a city",
           "parameters": {"location": {"type": "string", "description": "City name", "required": True},
                          "unit": {"type": "string", "description": "Temperature unit", "required": False,
                                   "enum": ["celsius", "fahrenheit"]}}}
TIMER = {"name": "setTimer", "description": "Start a countdown timer",
         "parameters": {"minutes": {"type": "integer", "description": "Duration in minutes", "required": True},
                        "label": {"type": "string", "description": "Timer label", "required": False}}}
MESSAGE = {"type": "function", "function": {
    "name": "send_message", "description": "Send a text message to a contact",
    "parameters": {"type": "object", "properties": {
        "recipient": {"type": "string", "description": "Contact name"},
        "body": {"type": "string", "description": "Message text"},
        "urgent": {"type": "boolean", "description": "Mark as urgent"}}, "required": ["recipient", "body"]}}}
TOOLS = [WEATHER, TIMER, MESSAGE]

CORPUS_QUERIES = ["What's the weather in Paris?", "set a timer for 10 minutes", "text Anna that I'm late",
                  "Wie ist das Wetter in München?", "remind me in 5 minutes", "send Bob 'hello there'",
                  "weather in Tokyo in fahrenheit please", "start a 25 minute pomodoro timer labelled focus"]
CORPUS_ANSWERS = [[{"name": "get_weather", "arguments": {"location": "Paris"}}],
                  [{"name": "set_timer", "arguments": {"minutes": 10}}],
                  [{"name": "send_message", "arguments": {"recipient": "Anna", "body": "I'm late", "urgent": False}}],
                  [{"name": "get_weather", "arguments": {"location": "München", "unit": "celsius"}}], []]


@functools.lru_cache(maxsize=None)
def tiny_tokenizer(vocab_size: int = 400):
    tools = parse_tools(TOOLS)
    texts = CORPUS_QUERIES + [tools_to_text(tools)] + [tools_to_text([t]) for t in tools]
    texts += [answers_to_text(a) for a in CORPUS_ANSWERS] + [json.dumps(TOOLS)]
    return train_tokenizer(texts * 3, vocab_size=vocab_size)


def save_tiny_model_folder(path):
    """The seeded tiny model + tokenizer saved as a complete model folder (weights, tokenizer, remote code, card)."""
    import torch

    from needle_hf.saving import save_model_folder

    torch.manual_seed(0)
    save_model_folder(tiny_needle(), tiny_tokenizer(), path)
    return path


def tiny_needle(tokenizer=None, **overrides):
    from .conftest import tiny_model

    tokenizer = tokenizer or tiny_tokenizer()
    return tiny_model(vocab_size=len(tokenizer), **overrides)


def is_copied(value: str, query: str, codes: bool = False, dates: bool = False) -> bool:
    """The rule copy mode enforces, computed independently of its grammar: `value` is a non-empty run of whole words
    / single other characters of `query` that is not bare ASCII punctuation, or an ISO date/time/date-time when the
    parameter takes dates (`dates`), or a short code when it takes codes (`codes`; constrained.COPY_FORMATS)."""
    from needle_hf.constrained import COPY_FORMATS

    allowed = [p for k, p in COPY_FORMATS.items() if (codes if k.startswith("code") else dates)]
    if any(re.fullmatch(f"(?:{p})", value) for p in allowed):
        return True
    if not any(c.isalnum() or ord(c) > 127 for c in value):
        return False
    chunks = re.findall(r"\w+|\W", query)
    return any("".join(chunks[i:j]) == value for i in range(len(chunks)) for j in range(i + 1, len(chunks) + 1))


@contextlib.contextmanager
def other_tools_copy(name: str = "other_copy_tools"):
    """A second, separately imported copy of modeling/tools.py, as the Hub remote-code copy is: its Tool and Param
    classes are not needle_hf.modeling.tools'."""
    import needle_hf.modeling.tools as tools_module

    spec = importlib.util.spec_from_file_location(name, tools_module.__file__)
    other = importlib.util.module_from_spec(spec)
    sys.modules[name] = other  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(other)
        yield other
    finally:
        del sys.modules[name]
