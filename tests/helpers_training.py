"""Small tool-calling rows, a tiny tokenizer and tiny models for the training tests (built once per process)."""
from __future__ import annotations

import functools
import json
import random

from needle_hf import NeedleConfig, NeedleForConditionalGeneration

TOOLS = {
    "get_weather": {"name": "get_weather", "description": "Current weather for a city",
                    "parameters": {"location": {"type": "string", "description": "City", "required": True},
                                   "unit": {"type": "string", "description": "celsius or fahrenheit",
                                            "required": False}}},
    "setTimer": {"name": "setTimer", "description": "Start a countdown timer",
                 "parameters": {"minutes": {"type": "integer", "description": "Minutes", "required": True},
                                "label": {"type": "string", "description": "Label", "required": False}}},
    "send_message": {"name": "send_message", "description": "Send a text message",
                     "parameters": {"recipient": {"type": "string", "description": "Contact", "required": True},
                                    "body": {"type": "string", "description": "Text", "required": True}}},
    "play_music": {"name": "play_music", "description": "Play a song",
                   "parameters": {"song": {"type": "string", "description": "Song title", "required": True}}},
    "add_todo": {"name": "add_todo", "description": "Add a to-do item",
                 "parameters": {"task": {"type": "string", "description": "Task", "required": True},
                                "tags": {"type": "array", "items": "string", "description": "Tags",
                                         "required": False}}},
}
CITIES = ["Paris", "Tokyo", "Berlin", "Lima", "Oslo", "Cairo", "Zürich", "Québec"]
NAMES = ["Anna", "Bob", "Chen", "Dana", "Eli"]
SONGS = ["Blue Sky", "Night Drive", "Rain", "Sunrise"]
TASKS = ["buy milk", "call mom", "pay rent", "fix bike"]


def _example(rng: random.Random) -> tuple[str, list[dict]]:
    kind = rng.randrange(6)
    if kind == 0:
        c = rng.choice(CITIES)
        return f"What's the weather in {c}?", [{"name": "get_weather", "arguments": {"location": c}}]
    if kind == 1:
        m = rng.randint(1, 60)
        return f"Set a timer for {m} minutes", [{"name": "setTimer", "arguments": {"minutes": m}}]
    if kind == 2:
        n, b = rng.choice(NAMES), rng.choice(["I'm late", "see you", "call me"])
        return f"Text {n} that {b}", [{"name": "send_message", "arguments": {"recipient": n, "body": b}}]
    if kind == 3:
        s = rng.choice(SONGS)
        return f"Play {s}", [{"name": "play_music", "arguments": {"song": s}}]
    if kind == 4:
        t = rng.choice(TASKS)
        return f"Add {t} to my list, tag it home", [{"name": "add_todo", "arguments": {"task": t, "tags": ["home"]}}]
    return rng.choice(["Tell me a joke", "How are you?", "Thanks!"]), []


def make_rows(n: int = 200, seed: int = 0) -> list[dict]:
    """Deterministic rows {query, tools, answers}: the called tool plus 1-2 distractors (or none for no-call rows)."""
    rng = random.Random(seed)
    rows = []
    names = list(TOOLS)
    for _ in range(n):
        query, calls = _example(rng)
        offered = {c["name"] for c in calls}
        offered |= set(rng.sample(names, rng.randint(1, 2)))
        tools = [TOOLS[k] for k in names if k in offered]
        rng.shuffle(tools)
        rows.append({"query": query, "tools": json.dumps(tools, ensure_ascii=False),
                     "answers": json.dumps(calls, ensure_ascii=False)})
    return rows


@functools.lru_cache(maxsize=1)
def tiny_tokenizer():
    """A ~400-token byte-level BPE trained on a few hundred generated rows (cached per process)."""
    from needle_hf.tokenization import corpus_from_rows, train_tokenizer

    return train_tokenizer(corpus_from_rows(make_rows(300, seed=1)), vocab_size=400)


TINY_TRAIN = dict(d_model=32, num_attention_heads=4, num_key_value_heads=2, encoder_layers=1, decoder_layers=1,
                  contrastive_dim=16, dropout=0.0)


def tiny_train_model(vocab_size: int | None = None, **overrides) -> NeedleForConditionalGeneration:
    vocab = vocab_size or len(tiny_tokenizer())
    return NeedleForConditionalGeneration(NeedleConfig(vocab_size=vocab, **{**TINY_TRAIN, **overrides}))
