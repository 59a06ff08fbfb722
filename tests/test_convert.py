"""Tests for needle_hf.convert and `needle-hf convert` (offline, no JAX).

The synthetic checkpoint is built here straight from the spec's parameter table (reference/needle-v1-spec.md §1.7),
with random float16 numbers, and written with plain `pickle.dump` like the original training code. The converted
model is compared with the independent numpy implementation in tests/reference_numpy.py, which reads that tree.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import random
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import needle_hf
from needle_hf import convert as C
from needle_hf.cli import main as cli_main
from . import reference_numpy as ref

# Small config of the synthetic checkpoint; vocab_size comes from the test SentencePiece model.
DIMS = dict(d_model=32, num_heads=4, num_kv_heads=2, num_encoder_layers=2, num_decoder_layers=2, contrastive_dim=16)

TOOLS = [
    {"name": "get_weather", "description": "Get the current weather for a city",
     "parameters": {"location": {"type": "string", "description": "City name", "required": True},
                    "days": {"type": "integer", "description": "Number of days", "required": False}}},
    {"name": "set_timer", "description": "Start a countdown timer",
     "parameters": {"minutes": {"type": "integer", "description": "Duration in minutes", "required": True}}},
    {"name": "send_message", "description": "Send a text message to a contact",
     "parameters": {"recipient": {"type": "string", "description": "Contact name", "required": True},
                    "message": {"type": "string", "description": "Text to send", "required": True}}},
    {"name": "play_music", "description": "Play a song or an artist",
     "parameters": {"song": {"type": "string", "description": "Song title", "required": True},
                    "shuffle": {"type": "boolean", "description": "Shuffle the queue", "required": False}}},
]
CITIES = ["Paris", "Zürich", "São Paulo", "Kraków", "Reykjavík", "New York", "Málaga", "Besançon"]
NAMES = ["Alice", "Zoë", "Björn", "Renée", "Łukasz", "José"]


def _compact(obj, ensure_ascii: bool) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ensure_ascii)


def corpus(n: int = 300, seed: int = 0) -> list[str]:
    """Queries, tools and answers as v1 trained its tokenizer on them (stripped raw strings, spec §2.1)."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        city, name, k = rng.choice(CITIES), rng.choice(NAMES), rng.randint(1, 120)
        kind = i % 4
        if kind == 0:
            query, call = f"What's the weather in {city} for the next {k} days?", {
                "name": "get_weather", "arguments": {"location": city, "days": k}}
        elif kind == 1:
            query, call = f"Set a timer for {k} minutes please", {"name": "set_timer", "arguments": {"minutes": k}}
        elif kind == 2:
            query, call = f"Tell {name} I'll be in {city} at {k % 12 + 1} pm", {
                "name": "send_message", "arguments": {"recipient": name, "message": f"I'll be in {city}"}}
        else:
            query, call = f"play some music by {name} in shuffle mode", {
                "name": "play_music", "arguments": {"song": name, "shuffle": True}}
        tools = rng.sample(TOOLS, rng.randint(1, len(TOOLS)))
        texts += [query, _compact(tools, i % 2 == 0), _compact([call] if i % 7 else [], i % 3 == 0)]
    return texts


def train_spm(path: Path, vocab_size: int = 500) -> Path:
    """A small SentencePiece model trained with the reference settings (spec §2.1)."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.Train(
        sentence_iterator=iter(corpus()), model_writer=buf, model_type="bpe", vocab_size=vocab_size, pad_id=0,
        eos_id=1, bos_id=2, unk_id=3, user_defined_symbols=["<tool_call>", "<tools>"], byte_fallback=True,
        normalization_rule_name="identity", minloglevel=2)
    path.write_bytes(buf.getvalue())
    return path


def make_v1_tree(vocab: int, d_model: int, num_heads: int, num_kv_heads: int, num_encoder_layers: int,
                 num_decoder_layers: int, contrastive_dim: int, seed: int = 0) -> dict:
    """The exact v1 `params` tree (spec §1.7) with random float16 values. Norm scales and gates are non-zero so that
    every parameter changes the output (zero init would hide a wrong mapping)."""
    rng = np.random.default_rng(seed)
    hd = d_model // num_heads

    def w(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float16)

    def attn(L):
        return {"q_proj": {"kernel": w(L, d_model, num_heads * hd)},
                "k_proj": {"kernel": w(L, d_model, num_kv_heads * hd)},
                "v_proj": {"kernel": w(L, d_model, num_kv_heads * hd)},
                "out_proj": {"kernel": w(L, num_heads * hd, d_model)},
                "q_norm": {"scale": w(L, hd, scale=0.3)}, "k_norm": {"scale": w(L, hd, scale=0.3)}}

    E, D = num_encoder_layers, num_decoder_layers
    return {
        "embedding": {"embedding": w(vocab, d_model, scale=0.5)},
        "encoder": {"layers": {"EncoderBlock_0": {"ZCRMSNorm_0": {"scale": w(E, d_model, scale=0.3)},
                                                  "attn_gate": w(E, scale=1.0), "self_attn": attn(E)}},
                    "final_norm": {"scale": w(d_model, scale=0.3)}},
        "decoder": {"layers": {"DecoderBlock_0": {"ZCRMSNorm_0": {"scale": w(D, d_model, scale=0.3)},
                                                  "ZCRMSNorm_1": {"scale": w(D, d_model, scale=0.3)},
                                                  "self_attn_gate": w(D, scale=1.0),
                                                  "cross_attn_gate": w(D, scale=1.0),
                                                  "self_attn": attn(D), "cross_attn": attn(D)}},
                    "ZCRMSNorm_0": {"scale": w(d_model, scale=0.3)}},
        "contrastive_hidden": {"kernel": w(d_model, d_model // 4), "bias": w(d_model // 4, scale=0.1)},
        "contrastive_proj": {"kernel": w(d_model // 4, contrastive_dim)},
        "log_temp": np.asarray(0.25, dtype=np.float16),
    }


def v1_config(vocab: int) -> dict:
    # What train() pickles: only explicitly set fields (no rope_theta / dropout_rate: the defaults apply), plus the
    # dead ones. vocab_size is stored here because the test vocab is not the default 8192.
    return {**DIMS, "vocab_size": vocab, "d_ff": 128, "max_seq_len": 1024, "dtype": "bfloat16",
            "num_memory_slots": 64}


def write_pickle(path: Path, obj, protocol: int | None = None) -> Path:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("convert")


@pytest.fixture(scope="module")
def spm_path(workdir) -> Path:
    return train_spm(workdir / "needle.model")


@pytest.fixture(scope="module")
def sp(spm_path):
    return spm.SentencePieceProcessor(model_file=str(spm_path))


@pytest.fixture(scope="module")
def checkpoint(workdir, sp) -> tuple[Path, dict, dict]:
    vocab = sp.get_piece_size()
    tree, cfg = make_v1_tree(vocab, **DIMS), v1_config(vocab)
    return write_pickle(workdir / "needle.pkl", {"params": tree, "config": cfg}), tree, cfg


@pytest.fixture(scope="module")
def converted(workdir, checkpoint, spm_path) -> tuple[Path, C.ConversionResult]:
    out = workdir / "converted"
    result = C.convert_checkpoint(checkpoint[0], spm_path, out)
    return out, result


@pytest.fixture(scope="module")
def tokenizer(converted):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(converted[0])


# ----------------------------------------------------------------------------------------------------------------
# restricted unpickling
# ----------------------------------------------------------------------------------------------------------------

class _RunsCode:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_and_never_runs(tmp_path, spm_path, sp):
    marker = tmp_path / "pwned"
    tree = make_v1_tree(sp.get_piece_size(), **DIMS)
    tree["log_temp"] = _RunsCode(str(marker))
    path = write_pickle(tmp_path / "evil.pkl", {"params": tree, "config": v1_config(sp.get_piece_size())})
    with pytest.raises(C.UnsafeCheckpointError, match=r"refusing to load .*evil\.pkl.*system.*Nothing was executed"):
        C.convert_checkpoint(path, spm_path, tmp_path / "out")
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("payload", [
    lambda m: {"params": {"x": __import__("builtins").eval}},               # a plain builtin function
    lambda m: {"params": np.array([{"a": 1}], dtype=object)},               # object arrays are refused
    lambda m: {"params": __import__("collections").OrderedDict(a=1)},       # any class outside the allow-list
])
def test_other_unsafe_content_is_refused(payload):
    data = pickle.dumps(payload(None))
    with pytest.raises(C.UnsafeCheckpointError):
        C.safe_load_pickle(data)


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_restricted_unpickler_reads_numpy_trees_with_every_protocol(protocol):
    obj = {"a": np.arange(6, dtype=np.float16).reshape(2, 3), "s": np.float16(1.5), "z": np.zeros((), np.float32),
           "nested": {"list": [1, 2.5, "x", None, True], "tuple": (np.float64(2.0),)}, "T": np.ones((3, 2)).T}
    back = C.safe_load_pickle(pickle.dumps(obj, protocol=protocol))
    assert back["a"].dtype == np.float16 and back["a"].tolist() == obj["a"].tolist()
    assert back["s"] == np.float16(1.5) and back["z"].shape == () and back["T"].shape == (2, 3)
    assert back["nested"] == {"list": [1, 2.5, "x", None, True], "tuple": (2.0,)}


def test_flax_frozendict_becomes_a_plain_dict(monkeypatch):
    # Pickle a stand-in of flax.core.frozen_dict.FrozenDict (same module path and __reduce__ as Flax), then unpickle
    # without it: the converter maps it to dict and never imports flax.
    module = types.ModuleType("flax.core.frozen_dict")

    class FrozenDict(dict):
        def __reduce__(self):
            return FrozenDict, (dict(self),)

    FrozenDict.__module__, FrozenDict.__qualname__ = "flax.core.frozen_dict", "FrozenDict"
    module.FrozenDict = FrozenDict
    for name in ("flax", "flax.core"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "flax.core.frozen_dict", module)
    data = pickle.dumps({"params": FrozenDict(embedding=FrozenDict(embedding=np.ones(2, np.float16)))})
    for name in ("flax", "flax.core", "flax.core.frozen_dict"):
        monkeypatch.delitem(sys.modules, name)
    back = C.safe_load_pickle(data)
    assert type(back["params"]) is dict and type(back["params"]["embedding"]) is dict
    assert back["params"]["embedding"]["embedding"].tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------------------------------------------
# parameter tree checks
# ----------------------------------------------------------------------------------------------------------------

def _config(vocab):
    return C.config_from_v1(v1_config(vocab))[0]


def test_wrong_shape_names_the_path_and_both_shapes(sp):
    vocab = sp.get_piece_size()
    tree = make_v1_tree(vocab, **DIMS)
    block = tree["decoder"]["layers"]["DecoderBlock_0"]
    block["cross_attn"]["k_proj"]["kernel"] = np.zeros((2, 32, 24), np.float16)
    with pytest.raises(C.CheckpointMismatchError) as err:
        C.v1_params_to_state_dict(tree, _config(vocab))
    msg = str(err.value)
    assert ("params['decoder']['layers']['DecoderBlock_0']['cross_attn']['k_proj']['kernel']: "
            "expected shape (2, 32, 16), got (2, 32, 24)") in msg
    assert "missing" not in msg and "unexpected" not in msg


def test_missing_and_unexpected_keys_are_listed(sp):
    vocab = sp.get_piece_size()
    tree = make_v1_tree(vocab, **DIMS)
    del tree["encoder"]["final_norm"]
    del tree["decoder"]["layers"]["DecoderBlock_0"]["cross_attn_gate"]
    tree["encoder"]["layers"]["EncoderBlock_0"]["mlp"] = {"kernel": np.zeros((2, 32, 128), np.float16)}
    with pytest.raises(C.CheckpointMismatchError) as err:
        C.v1_params_to_state_dict(tree, _config(vocab))
    msg = str(err.value)
    assert ("missing keys (2): params['encoder']['final_norm']['scale'], "
            "params['decoder']['layers']['DecoderBlock_0']['cross_attn_gate']") in msg
    assert "unexpected keys (1): params['encoder']['layers']['EncoderBlock_0']['mlp']['kernel']" in msg


def test_config_defaults_follow_the_reference_class():
    config, resolved, unknown = C.config_from_v1({"d_model": 64, "num_heads": 4, "novel_flag": 1})
    assert (config.vocab_size, config.rope_theta, config.pad_token_id, config.dropout) == (8192, 10000.0, 0, 0.1)
    assert (config.encoder_layers, config.decoder_layers, config.num_key_value_heads, config.contrastive_dim) == (
        2, 2, 2, 128)
    assert config.ensure_ascii_json is True and unknown == ["novel_flag"] and resolved["d_model"] == 64
    with pytest.raises(ValueError, match="feed-forward"):
        C.config_from_v1({"no_feedforward": False})


def test_tokenizer_must_belong_to_the_checkpoint(tmp_path, spm_path):
    tree = make_v1_tree(64, **DIMS)
    path = write_pickle(tmp_path / "small.pkl", {"params": tree, "config": v1_config(64)})
    with pytest.raises(ValueError, match=r"has \d+ pieces but the checkpoint's embedding has 64 rows"):
        C.convert_checkpoint(path, spm_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------------------------------------
# the converted model
# ----------------------------------------------------------------------------------------------------------------

def test_converted_logits_match_the_numpy_reference(converted, checkpoint):
    from transformers import AutoModelForSeq2SeqLM

    _, tree, cfg = checkpoint
    model = AutoModelForSeq2SeqLM.from_pretrained(converted[0]).eval()
    assert type(model).__name__ == "NeedleForConditionalGeneration" and model.dtype == torch.float32
    rng = np.random.default_rng(1)
    src = rng.integers(6, cfg["vocab_size"], size=(2, 9))
    src[1, 6:] = 0  # right padding
    tgt = np.concatenate([np.ones((2, 1), dtype=np.int64), rng.integers(6, cfg["vocab_size"], size=(2, 5))], 1)
    expected = ref.forward(tree, cfg, src, tgt)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(src), attention_mask=torch.tensor(src != 0).long(),
                       decoder_input_ids=torch.tensor(tgt)).logits.double().numpy()
    assert np.abs(logits - expected).max() < 1e-4
    assert np.abs(expected).max() > 1.0  # not a trivially small output
    emb = model.encode_contrastive(torch.tensor(src)).double().detach().numpy()
    assert np.abs(emb - ref.contrastive(tree, cfg, src)).max() < 1e-5


def test_converted_folder_is_complete(converted, checkpoint):
    out, result = converted
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "README.md", "configuration_needle.py", "modeling_needle.py", "pipeline_tool_calling.py", "tools.py",
            "constrained.py"} <= names
    config = json.loads((out / "config.json").read_text())
    assert config["ensure_ascii_json"] is True
    assert (config["vocab_size"], config["d_model"], config["encoder_layers"], config["rope_theta"],
            config["dropout"]) == (checkpoint[2]["vocab_size"], 32, 2, 10000.0, 0.1)
    assert config["custom_pipelines"]["tool-calling"]["impl"] == "pipeline_tool_calling.ToolCallingPipeline"
    assert config["auto_map"]["AutoModelForSeq2SeqLM"] == "modeling_needle.NeedleForConditionalGeneration"
    gen = json.loads((out / "generation_config.json").read_text())
    assert (gen["decoder_start_token_id"], gen["eos_token_id"], gen["pad_token_id"]) == (1, 1, 0)
    card = (out / "README.md").read_text()
    assert result.checkpoint_sha256 in card and "needle.pkl" in card and '"num_heads": 4' in card
    assert result.tokenizer_texts_checked > 400


def test_pipeline_runs_on_the_converted_folder(converted):
    from transformers import pipeline

    pipe = pipeline("tool-calling", model=str(converted[0]))
    assert pipe.model.config.ensure_ascii_json is True
    for constrained in (False, True):
        out = pipe("What's the weather in Zürich?", tools=TOOLS[:2], constrained=constrained, max_new_tokens=12,
                   return_text=True)
        assert isinstance(out["calls"], list) and isinstance(out["text"], str)


@pytest.mark.slow
def test_converted_folder_loads_without_needle_hf(converted, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        class _Block:
            def find_spec(self, name, path=None, target=None):
                if name == "needle_hf" or name.startswith("needle_hf."):
                    raise ImportError("needle_hf is blocked in this test")
        sys.meta_path.insert(0, _Block())
        from transformers import pipeline
        pipe = pipeline("tool-calling", model={str(converted[0])!r}, trust_remote_code=True)
        tools = [{{"name": "set_timer", "description": "Start a timer", "parameters": {{"minutes": {{
                  "type": "integer", "description": "Minutes", "required": True}}}}}}]
        print(pipe("Set a timer for 5 minutes", tools=tools, constrained=False, max_new_tokens=6))
        print(pipe.tokenizer("<tools>x")["input_ids"])
        assert "needle_hf" not in sys.modules
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


# ----------------------------------------------------------------------------------------------------------------
# the converted tokenizer
# ----------------------------------------------------------------------------------------------------------------

TOKENIZER_CORPUS = [
    *corpus(40, seed=5),
    '[{"name":"get_weather","arguments":{"location":"Z\\u00fcrich"}}]',
    '[{"name":"send_message","arguments":{"recipient":"Zoë","message":"Grüße aus Köln — 10 €"}}]',
    '[{"name":"translate","arguments":{"text":"東京の天気は？","target":"中文"}}]', "[]",
    "東京の天気は？", "北京今天天气怎么样", "안녕하세요 세계", "Привет, как дела?", "مرحبا بالعالم",
    "party 🎉🥳 time 👍🏽 family 👨‍👩‍👧‍👦", "café naïve résumé jalapeño Ångström Œuvre", "e\u0301 (combining accent)",
    "  leading", "trailing   ", "runs   of     spaces", "  both  ", "   ", "", "tab\there", "new\nline\r\n",
    " \t \n ", "\u00a0non-breaking\u3000ideographic", "literal ▁ lower block", "▁▁x▁", "x <tools> y",
    "x<tools>y", "<tool_call>[]", "<tools><tool_call>", "</s> <s> <pad> <unk> are plain text", "<0x41>",
    "\x00\x1f\x7f control chars", "Set a timer for 5 minutes  <tools>  [{\"name\":\"set_timer\"}]",
]


def test_tokenizer_matches_sentencepiece_id_for_id(tokenizer, sp):
    for text in TOKENIZER_CORPUS:
        ids = sp.encode(text)
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids, text
        assert tokenizer.decode(ids, skip_special_tokens=True) == sp.decode(ids), text
    # the behaviours the issue names: dummy prefix, whitespace collapsing, byte fallback
    assert sp.encode("  a   b  ") == sp.encode("a b") and sp.id_to_piece(sp.encode("a")[0]).startswith("▁")
    assert any(sp.is_byte(i) for i in sp.encode("東京 🎉"))
    assert tokenizer(TOOLS[0]["name"] + " <tools>", add_special_tokens=False)["input_ids"][-1] == 5


def test_tokenizer_special_ids(tokenizer):
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.unk_token_id) == (
        0, 1, 2, 3)
    assert tokenizer.convert_tokens_to_ids(["<tool_call>", "<tools>"]) == [4, 5]
    assert tokenizer("hello")["input_ids"] == tokenizer("hello", add_special_tokens=False)["input_ids"]  # no BOS/EOS
    # decoding model output: <tool_call> + answer + EOS, as the pipeline does
    answer = '[{"name":"set_timer","arguments":{"minutes":5}}]'
    ids = [4] + tokenizer(answer, add_special_tokens=False)["input_ids"] + [1]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<tool_call> " + answer


def test_tokenizer_known_divergence_is_only_the_bare_symbol(tokenizer, sp):
    # Documented in sentencepiece_to_tokenizer: a text that is nothing but a user-defined symbol.
    assert sp.encode(" <tools> ")[1:] == [5] and tokenizer(" <tools> ", add_special_tokens=False)["input_ids"] == [5]
    assert tokenizer("<tools>.", add_special_tokens=False)["input_ids"] == sp.encode("<tools>.")
    # SentencePiece reads its own "▁" as a space, so a trailing one is the same case (found by hypothesis)
    assert sp.encode("<tools>▁") == [sp.piece_to_id("▁"), 5] and tokenizer("<tools>▁", add_special_tokens=False)[
        "input_ids"] == [5]


_FRAGMENTS = st.sampled_from([" ", "  ", "\t", "\n", "▁", "<tools>", "<tool_call>", "</s>", '{"', '":"', '"}]',
                              "get_weather", "Zürich", "東京", "🎉", "\u00a0", "e\u0301", "<0x41>"])
_TEXT = st.lists(st.one_of(_FRAGMENTS, st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)),
                 max_size=8).map("".join)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT)
def test_tokenizer_matches_sentencepiece_on_any_text(tokenizer, sp, text):
    # the documented divergence: nothing but the symbol once SentencePiece has normalised the text (its "▁" is a
    # space, runs of spaces collapse, trailing ones go: " <tools>▁▁" is "▁<tools>")
    assume(sp.normalize(text) not in ("▁<tools>", "▁<tool_call>"))
    ids = sp.encode(text)
    assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == sp.decode(ids)


# ----------------------------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------------------------

def test_cli_convert(tmp_path, checkpoint, spm_path, capsys):
    from transformers import AutoModelForSeq2SeqLM

    out = tmp_path / "bf16"
    assert cli_main(["convert", str(checkpoint[0]), "--spm", str(spm_path), "--out", str(out),
                     "--dtype", "bfloat16"]) == 0
    printed = capsys.readouterr().out
    assert "ensure_ascii_json True" in printed and "sentencepiece on" in printed
    model = AutoModelForSeq2SeqLM.from_pretrained(out)
    assert model.dtype == torch.bfloat16 and model.config.ensure_ascii_json is True
    # a second run refuses to write into the now non-empty folder
    assert cli_main(["convert", str(checkpoint[0]), "--spm", str(spm_path), "--out", str(out)]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err


def test_cli_refuses_unsafe_pickle(tmp_path, spm_path, capsys):
    marker = tmp_path / "pwned"
    path = write_pickle(tmp_path / "evil.pkl", _RunsCode(str(marker)))
    assert cli_main(["convert", str(path), "--spm", str(spm_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "needle-hf convert: error: refusing to load" in err and not marker.exists()
