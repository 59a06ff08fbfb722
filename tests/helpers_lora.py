"""Small procedural data for LoRA / Hub tests: three disjoint tool sets, a tokenizer that covers them, and a tiny
base model trained briefly on tool set A (built once per process, cached on disk under a temp folder).

* ``HOME`` (set "home"): lights (enum room) + thermostat (integer degrees)
* ``MEDIA`` (set "media"): music (enum genre) + phone call (string contact name)
* ``BASE_TOOLS`` (set "base"): weather (string city), timer (integer minutes), note (string copied from the query,
  over the words of every set): what the tiny base is trained on.
"""
from __future__ import annotations

import atexit
import functools
import json
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from needle_hf.tokenization import train_tokenizer
from needle_hf.tools import answers_to_text, parse_tools, tools_to_text

LIGHTS = {"name": "turn_on_lights", "description": "Switch on the lights in a room",
          "parameters": {"room": {"type": "string", "description": "Room", "required": True,
                                  "enum": ["kitchen", "bedroom", "garage", "office"]}}}
THERMOSTAT = {"name": "set_thermostat", "description": "Set the heating temperature",
              "parameters": {"degrees": {"type": "integer", "description": "Target temperature", "required": True}}}
MUSIC = {"name": "play_music", "description": "Play music of a genre",
         "parameters": {"genre": {"type": "string", "description": "Music genre", "required": True,
                                  "enum": ["jazz", "rock", "pop", "classical"]}}}
CALL = {"name": "call_contact", "description": "Phone a contact",
        "parameters": {"name": {"type": "string", "description": "Contact name", "required": True}}}
WEATHER = {"name": "get_weather", "description": "Current weather for a city",
           "parameters": {"city": {"type": "string", "description": "City name", "required": True}}}
TIMER = {"name": "set_timer", "description": "Start a countdown timer",
         "parameters": {"minutes": {"type": "integer", "description": "Duration in minutes", "required": True}}}
NOTE = {"name": "save_note", "description": "Save a short note",
        "parameters": {"text": {"type": "string", "description": "Note text", "required": True}}}

HOME = [LIGHTS, THERMOSTAT]
MEDIA = [MUSIC, CALL]
BASE_TOOLS = [WEATHER, TIMER, NOTE]
TOOL_SETS = {"home": HOME, "media": MEDIA, "base": BASE_TOOLS}

ROOMS = ["kitchen", "bedroom", "garage", "office"]
GENRES = ["jazz", "rock", "pop", "classical"]
NAMES = ["Anna", "Bob", "Carla", "David", "Emma", "Frank"]
CITIES = ["Paris", "Tokyo", "Berlin", "Lima", "Oslo", "Rome"]

TEMPLATES = {
    "turn_on_lights": (["turn on the lights in the {}", "{} lights on please", "switch on the {} light",
                        "lights on in the {}"], "room", ROOMS),
    "set_thermostat": (["set the heating to {} degrees", "make it {} degrees", "thermostat to {}",
                        "warm the house to {} degrees"], "degrees", list(range(16, 29))),
    "play_music": (["play some {}", "put on {} music", "I want to hear {}", "start a {} playlist"], "genre", GENRES),
    "call_contact": (["call {}", "phone {} please", "ring {} now", "give {} a call"], "name", NAMES),
    "get_weather": (["weather in {}", "what's the weather in {}?", "is it raining in {}", "forecast for {}"],
                    "city", CITIES),
    "set_timer": (["set a timer for {} minutes", "timer {} minutes", "remind me in {} minutes",
                   "countdown of {} minutes"], "minutes", list(range(1, 30))),
    # the base learns to copy every word the other tool sets use (a real base has seen most words), but not
    # what the home / media tools are for
    "save_note": (["note {}", "remember {}", "write down {}", "save a note: {}"], "text",
                  ROOMS + GENRES + NAMES + CITIES),
}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Two shared cores: one intra-op thread is several times faster than two fighting over a busy CPU.
    Import it into a test module to use it there (module-scoped, restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_rows(tools: list[dict], n_per_tool: int, seed: int = 0) -> list[dict]:
    """``n_per_tool`` rows per tool of the set; every row offers the whole set (shuffled order)."""
    rng = random.Random(seed)
    rows = []
    for t in tools:
        templates, arg, values = TEMPLATES[t["name"]]
        for i in range(n_per_tool):
            value = rng.choice(values)
            query = rng.choice(templates).format(value)
            offered = list(tools)
            rng.shuffle(offered)
            rows.append({"query": query, "tools": json.dumps(offered),
                         "answers": json.dumps([{"name": t["name"], "arguments": {arg: value}}])})
    rng.shuffle(rows)
    return rows


@functools.lru_cache(maxsize=None)
def lora_tokenizer(vocab_size: int = 600):
    texts = []
    for tools in TOOL_SETS.values():
        texts.append(tools_to_text(parse_tools(tools)))
        for row in make_rows(tools, 30, seed=1):
            texts += [row["query"], answers_to_text(json.loads(row["answers"]))]
    return train_tokenizer(texts * 2, vocab_size=vocab_size)


TINY_BASE = dict(d_model=64, num_attention_heads=4, num_key_value_heads=2, encoder_layers=2, decoder_layers=2,
                 contrastive_dim=16, dropout=0.0)


BASE_EPOCHS = 25


def tiny_base_model(seed: int = 0):
    import torch

    from needle_hf import NeedleConfig, NeedleForConditionalGeneration

    torch.manual_seed(seed)
    tok = lora_tokenizer()
    return NeedleForConditionalGeneration(NeedleConfig(vocab_size=len(tok), **TINY_BASE)).eval()


@functools.lru_cache(maxsize=None)
def trained_base_dir() -> Path:
    """A tiny Needle trained for a few seconds on the base tool set (so it emits sensible calls), saved as a
    complete model folder. Cached for the whole test process."""
    from needle_hf.lora import _train
    from needle_hf.saving import save_model_folder

    root = tempfile.mkdtemp(prefix="needle-lora-base-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    out = Path(root) / "tiny-base"
    model = tiny_base_model()
    tok = lora_tokenizer()
    _train(model, tok, make_rows(BASE_TOOLS, 40, seed=3), epochs=BASE_EPOCHS, learning_rate=3e-3, batch_size=16,
           seed=0, progress=False, use_muon=True)
    save_model_folder(model.eval(), tok, out)
    return out
