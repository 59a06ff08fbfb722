"""The Needle model: architecture facts, forward vs an independent reference, generation, save/load."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from needle_hf import NeedleConfig, NeedleForConditionalGeneration
from needle_hf.modeling.modeling_needle import CACHE_FIELD, NeedleRMSNorm, NeedleRotary

from .conftest import TINY, tiny_model
from .helpers_v1 import v1_tree_from_model
from .reference_numpy import contrastive, forward as reference_forward

ROOT = Path(__file__).resolve().parents[1]


def test_default_config_is_the_released_26m_model():
    c = NeedleConfig()
    assert (c.d_model, c.num_attention_heads, c.num_key_value_heads, c.encoder_layers, c.decoder_layers,
            c.vocab_size) == (512, 8, 4, 12, 8, 8192)
    assert (c.pad_token_id, c.eos_token_id, c.bos_token_id, c.decoder_start_token_id) == (0, 1, 2, 1)
    assert c.tie_word_embeddings and c.is_encoder_decoder and c.rope_theta == 1e4 and c.dropout == 0.1
    with torch.device("meta"):
        model = NeedleForConditionalGeneration(c)
    assert sum(p.numel() for p in model.parameters()) == 26_315_421


@pytest.mark.parametrize("kwargs, message", [
    (dict(d_model=100, num_attention_heads=8), "divisible by num_attention_heads"),
    (dict(num_attention_heads=8, num_key_value_heads=3), "must divide"),
    (dict(encoder_layers=0), "encoder_layers must be a positive integer"),
    (dict(vocab_size=-5), "vocab_size must be a positive integer"),
    (dict(dropout=1.5), "dropout"),
    (dict(d_model=24, num_attention_heads=8), "must be even"),
])
def test_invalid_configs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NeedleConfig(**kwargs)


def test_presets():
    tiny = NeedleConfig.from_preset("needle-tiny")
    assert tiny.d_model == 64 and tiny.encoder_layers == 2
    assert NeedleConfig.from_preset("needle-26m").to_dict()["d_model"] == 512
    with pytest.raises(ValueError, match="Unknown Needle preset 'needle-huge'"):
        NeedleConfig.from_preset("needle-huge")


def test_forward_shapes_and_projection_names(tiny):
    ids = torch.randint(6, TINY["vocab_size"], (3, 7))
    out = tiny(input_ids=ids, decoder_input_ids=torch.ones(3, 5, dtype=torch.long))
    assert out.logits.shape == (3, 5, TINY["vocab_size"]) and out.logits.dtype == torch.float32
    assert out.encoder_last_hidden_state.shape == (3, 7, TINY["d_model"])
    names = {n for n, _ in tiny.named_modules()}
    for n in ("model.encoder.layers.0.self_attn.q_proj", "model.decoder.layers.1.cross_attn.o_proj",
              "model.decoder.layers.0.self_attn.k_proj", "model.encoder.layers.1.self_attn.v_proj"):
        assert n in names
    assert tiny.lm_head.weight.data_ptr() == tiny.model.shared.weight.data_ptr()  # tied


def test_fully_padded_rows_stay_finite(tiny):
    ids = torch.randint(6, TINY["vocab_size"], (2, 6))
    ids[1] = 0  # a row that is all padding
    out = tiny(input_ids=ids, attention_mask=(ids != 0).long(), decoder_input_ids=torch.ones(2, 3, dtype=torch.long))
    assert torch.isfinite(out.logits).all()
    emb = tiny.encode_contrastive(ids)
    assert torch.isfinite(emb).all()


def test_forward_matches_independent_numpy_reference(tiny):
    ids = torch.randint(6, TINY["vocab_size"], (2, 9))
    ids[1, 6:] = 0  # padded encoder row
    dec = torch.randint(6, TINY["vocab_size"], (2, 5))
    dec[:, 0] = 1
    with torch.no_grad():
        logits = tiny(input_ids=ids, decoder_input_ids=dec).logits.numpy()
        emb = tiny.encode_contrastive(ids).numpy()
    params, config = v1_tree_from_model(tiny)
    ref = reference_forward(params, config, ids.numpy(), dec.numpy())
    assert np.abs(logits - ref).max() < 1e-4
    assert np.abs(emb - contrastive(params, config, ids.numpy())).max() < 1e-4


def test_bf16_forward_close_to_fp32(tiny):
    ids = torch.randint(6, TINY["vocab_size"], (2, 8))
    dec = torch.ones(2, 4, dtype=torch.long)
    ref = tiny(input_ids=ids, decoder_input_ids=dec).logits
    low = tiny.to(torch.bfloat16)(input_ids=ids, decoder_input_ids=dec).logits
    assert low.dtype == torch.float32 and torch.isfinite(low).all()
    assert (low - ref).abs().max() < 0.25 * ref.abs().max()


def test_cached_and_uncached_greedy_generation_agree(tiny):
    ids = torch.randint(6, TINY["vocab_size"], (2, 10))
    ids[0, 7:] = 0
    kw = dict(max_new_tokens=16, min_new_tokens=16, do_sample=False)
    cached = tiny.generate(input_ids=ids, attention_mask=(ids != 0).long(), use_cache=True, **kw)
    uncached = tiny.generate(input_ids=ids, attention_mask=(ids != 0).long(), use_cache=False, **kw)
    assert cached.shape == (2, 17) and torch.equal(cached, uncached)
    assert (cached[:, 0] == 1).all()  # decoder starts with EOS
    # and the logits generate() saw at each step equal one full forward over the generated prefix: a cache handed
    # over under a name the model ignores (transformers 5.24 renamed it) makes cached and uncached decoding agree,
    # both on garbage
    mask = (ids != 0).long()
    out = tiny.generate(input_ids=ids, attention_mask=mask, output_logits=True, return_dict_in_generate=True, **kw)
    with torch.no_grad():
        full = tiny(input_ids=ids, attention_mask=mask, decoder_input_ids=out.sequences[:, :-1], use_cache=False).logits
    assert (torch.stack(out.logits, 1) - full).abs().max() < 1e-4


def test_cross_attention_kv_computed_once_per_generate(tiny):
    calls = []
    layer = tiny.model.decoder.layers[0].cross_attn
    hook = layer.k_proj.register_forward_hook(lambda *a: calls.append(1))
    tiny.generate(input_ids=torch.randint(6, TINY["vocab_size"], (1, 6)), max_new_tokens=8, min_new_tokens=8)
    hook.remove()
    assert len(calls) == 1


def test_step_by_step_cached_logits_match_full_forward(tiny):
    ids = torch.randint(6, TINY["vocab_size"], (1, 6))
    dec = torch.randint(6, TINY["vocab_size"], (1, 6))
    full = tiny(input_ids=ids, decoder_input_ids=dec, use_cache=False).logits
    enc = tiny.get_encoder()(input_ids=ids)
    for name in ("past_key_values", "cache"):  # the cache's name before / since transformers 5.24: both accepted
        past, steps = None, []
        for t in range(dec.shape[1]):
            out = tiny(encoder_outputs=enc, attention_mask=torch.ones_like(ids), decoder_input_ids=dec[:, t:t + 1],
                       use_cache=True, **{name: past})
            past = getattr(out, CACHE_FIELD)
            steps.append(out.logits)
        assert (torch.cat(steps, 1) - full).abs().max() < 1e-5, name


def test_beam_search_and_sampling_run(tiny):
    ids = torch.randint(6, TINY["vocab_size"], (2, 6))
    beams = tiny.generate(input_ids=ids, num_beams=3, max_new_tokens=6, min_new_tokens=6)
    sampled = tiny.generate(input_ids=ids, do_sample=True, top_k=10, max_new_tokens=6, min_new_tokens=6)
    assert beams.shape == (2, 7) and sampled.shape == (2, 7)


def test_save_load_round_trip_registered(tmp_path, tiny):
    tiny.save_pretrained(tmp_path)
    files = set(os.listdir(tmp_path))
    assert {"config.json", "model.safetensors", "generation_config.json"} <= files
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, NeedleForConditionalGeneration)
    ids = torch.randint(6, TINY["vocab_size"], (1, 5))
    dec = torch.ones(1, 3, dtype=torch.long)
    assert torch.equal(loaded(input_ids=ids, decoder_input_ids=dec).logits, tiny(input_ids=ids, decoder_input_ids=dec).logits)
    assert loaded.lm_head.weight.data_ptr() == loaded.model.shared.weight.data_ptr()
    assert loaded.generation_config.decoder_start_token_id == 1 and loaded.generation_config.eos_token_id == 1


def test_zero_centred_norms_and_rope_after_from_pretrained(tmp_path):
    fresh = NeedleForConditionalGeneration(NeedleConfig(**TINY))
    assert all((m.weight == 0).all() for m in fresh.modules() if isinstance(m, NeedleRMSNorm))
    assert all(p.item() == 0 for n, p in fresh.named_parameters() if n.endswith("_gate"))
    fresh.save_pretrained(tmp_path)
    loaded = NeedleForConditionalGeneration.from_pretrained(tmp_path)
    assert all((m.weight == 0).all() for m in loaded.modules() if isinstance(m, NeedleRMSNorm))
    for m in loaded.modules():
        if isinstance(m, NeedleRotary):
            assert torch.allclose(m.inv_freq, m.compute_inv_freq())
    # missing weights (none saved for a norm) are initialised to zero too, not to the transformers default of one
    assert loaded.model.encoder.norm.weight.abs().sum() == 0


def _save_with_remote_code(model, path):
    type(model.config).register_for_auto_class()
    type(model).register_for_auto_class("AutoModelForSeq2SeqLM")
    model.save_pretrained(path)


BLOCK_NEEDLE_HF = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name == "needle_hf" or name.startswith("needle_hf."):
                raise ImportError("needle_hf is blocked in this test")
    sys.meta_path.insert(0, _Block())
""")


def test_trust_remote_code_loads_without_needle_hf(tmp_path, tiny):
    _save_with_remote_code(tiny, tmp_path)
    assert (tmp_path / "modeling_needle.py").exists() and (tmp_path / "configuration_needle.py").exists()
    cfg = AutoConfig.from_pretrained(tmp_path)
    assert cfg.auto_map["AutoModelForSeq2SeqLM"] == "modeling_needle.NeedleForConditionalGeneration"
    ids = torch.randint(6, TINY["vocab_size"], (1, 6))
    expected = tiny.generate(input_ids=ids, max_new_tokens=8, min_new_tokens=8).tolist()
    script = BLOCK_NEEDLE_HF + textwrap.dedent(f"""
        import torch
        from transformers import AutoModelForSeq2SeqLM
        m = AutoModelForSeq2SeqLM.from_pretrained({str(tmp_path)!r}, trust_remote_code=True).eval()
        assert "needle_hf" not in sys.modules
        ids = torch.tensor({ids.tolist()})
        print(m.generate(input_ids=ids, max_new_tokens=8, min_new_tokens=8).tolist())
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(expected)


def _tf457_path():
    path = Path(os.environ.get("NEEDLE_TF457_PATH", ROOT / ".ci" / "tf457")).resolve()  # subprocess runs elsewhere
    return str(path) if Path(path, "transformers").is_dir() else None


@pytest.mark.skipif(_tf457_path() is None, reason="transformers 4.57 not prepared (see .ci/run: NEEDLE_TF457_PATH)")
def test_remote_code_loads_and_generates_on_transformers_457(tmp_path, tiny):
    _save_with_remote_code(tiny, tmp_path)
    ids = torch.randint(6, TINY["vocab_size"], (2, 6))
    expected = tiny.generate(input_ids=ids, max_new_tokens=8, min_new_tokens=8).tolist()
    script = BLOCK_NEEDLE_HF + textwrap.dedent(f"""
        import torch, transformers
        assert transformers.__version__.startswith("4.57"), transformers.__version__
        from transformers import AutoModelForSeq2SeqLM
        m = AutoModelForSeq2SeqLM.from_pretrained({str(tmp_path)!r}, trust_remote_code=True).eval()
        ids = torch.tensor({ids.tolist()})
        a = m.generate(input_ids=ids, max_new_tokens=8, min_new_tokens=8)
        b = m.generate(input_ids=ids, max_new_tokens=8, min_new_tokens=8, use_cache=False)
        assert torch.equal(a, b)
        m.generate(input_ids=ids, max_new_tokens=4, num_beams=2)
        print(a.tolist())
    """)
    env = {**os.environ, "PYTHONPATH": _tf457_path(), "HF_HUB_OFFLINE": "1",
           "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == str(expected)
