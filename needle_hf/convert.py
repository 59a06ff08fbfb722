"""Convert original Needle v1 checkpoints (JAX/Flax pickle + SentencePiece model) into a Hugging Face model folder.

    needle-hf convert needle.pkl --spm needle.model --out DIR
    convert_checkpoint("needle.pkl", "needle.model", "DIR")

What it does (facts from reference/needle-v1-spec.md §1.1, §1.7, §1.9, §2.1):

- **Safe loading.** The pickle is read with :class:`RestrictedUnpickler`, which only builds dicts, lists, tuples,
  strings, numbers and numpy arrays / scalars (plus Flax ``FrozenDict``, turned into a plain dict). Any other global
  (``os.system``, ``builtins.eval``, a class from the training code, ...) is refused with
  :class:`UnsafeCheckpointError` *before* anything is called. ``pickle.load`` is never used on the file.
- **Weights.** Every leaf of ``params`` is mapped to the PyTorch state dict: Dense kernels ``(in, out)`` are transposed
  to ``Linear.weight (out, in)``, the scan-stacked leading layer axis is split into ``layers.{i}``, gates and norm
  scales are copied as raw parameters (pre-sigmoid gates, zero-centred norms), the embedding is tied to the LM head.
  The tree is checked against the exact expected tree of the checkpoint's config: missing keys, unexpected keys and
  wrong shapes are all reported at once, each with its path (:class:`CheckpointMismatchError`).
- **Config.** ``checkpoint["config"]`` only holds the fields that were set explicitly; missing ones get the
  reference ``TransformerConfig`` class defaults (vocab 8192, d_model 128, 4 heads, 2 KV heads, 2 + 2 layers,
  rope_theta 1e4, pad 0, dropout 0.1, contrastive_dim 128), exactly as the original loader would.
  ``ensure_ascii_json=True`` is set: v1 was trained on ``json.dumps`` output with ``\\uXXXX`` escapes (spec §2.5).
- **Tokenizer.** The SentencePiece BPE model is rebuilt as a ``tokenizers`` pipeline that gives the same ids as
  ``sentencepiece`` (see :func:`sentencepiece_to_tokenizer`) and is checked id-for-id against ``sentencepiece`` on a
  probe corpus at conversion time.
- **Folder.** safetensors + config.json (with ``auto_map`` and the ``custom_pipelines`` entry) + remote code
  (modeling, pipeline, tools, constrained decoding) + generation_config.json + tokenizer files + README.md
  (a model card recording the source file, its sha256 and config). It loads with ``AutoModelForSeq2SeqLM`` (with
  needle_hf installed, or ``trust_remote_code=True`` without it) and runs in the ``tool-calling`` pipeline.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import pickle
import random
import re
import shutil
import struct
from pathlib import Path
from typing import Any, Iterable

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "CheckpointMismatchError",
    "ConversionResult",
    "RestrictedUnpickler",
    "UnsafeCheckpointError",
    "V1_CONFIG_DEFAULTS",
    "check_tokenizer",
    "config_from_v1",
    "convert_checkpoint",
    "expected_v1_shapes",
    "load_v1_checkpoint",
    "read_sentencepiece_model",
    "safe_load_pickle",
    "sentencepiece_to_tokenizer",
    "v1_params_to_state_dict",
]

# Fixed special-token layout of every Needle tokenizer (contract; spec §2.1).
SPECIAL_PIECES = {0: "<pad>", 1: "</s>", 2: "<s>", 3: "<unk>", 4: "<tool_call>", 5: "<tools>"}


# ==================================================================================================================
# 1. Restricted unpickling
# ==================================================================================================================

class UnsafeCheckpointError(pickle.UnpicklingError, ValueError):
    """The pickle references something other than plain containers, numbers, strings and numpy arrays."""


class CheckpointMismatchError(ValueError):
    """The parameter tree does not match the Needle v1 layout for the checkpoint's config."""


def _numpy_attr(module: str, name: str):
    """numpy.core.multiarray.X (numpy 1.x) and numpy._core.multiarray.X (numpy 2.x) are the same object; resolve it
    from whichever the installed numpy has, without importing the deprecated numpy.core shim on numpy 2."""
    import importlib

    tail = module.split(".", 2)[-1]  # "multiarray" / "numeric"
    for candidate in (f"numpy._core.{tail}", f"numpy.core.{tail}"):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise UnsafeCheckpointError(f"numpy has no {module}.{name}")  # pragma: no cover


def _check_dtype(dtype) -> None:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafeCheckpointError(f"refusing numpy data of dtype {dtype!r}: only numeric arrays are allowed")


def _safe_reconstruct(subtype, shape, dtype_code):
    # ndarray.__reduce__ -> _reconstruct(ndarray, (0,), b"b"), then __setstate__ fills shape/dtype/data
    if subtype is not np.ndarray:
        raise UnsafeCheckpointError(f"refusing to reconstruct {subtype!r}: only numpy.ndarray is allowed")
    return _numpy_attr("numpy.core.multiarray", "_reconstruct")(subtype, shape, dtype_code)


def _safe_scalar(dtype, data=None):
    _check_dtype(dtype)
    return _numpy_attr("numpy.core.multiarray", "scalar")(dtype, data)


def _safe_frombuffer(buffer, dtype, shape, order):
    # pickle protocol 5 writes contiguous arrays as _frombuffer(PickleBuffer, dtype, shape, order)
    _check_dtype(dtype)
    return _numpy_attr("numpy.core.numeric", "_frombuffer")(buffer, dtype, shape, order)


def _safe_codecs_encode(text, encoding="utf-8", errors="strict"):
    # protocols 0-2 store bytes objects (numpy's raw data) as _codecs.encode(str, "latin1")
    if not isinstance(text, str) or encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591"):
        raise UnsafeCheckpointError("refusing _codecs.encode with anything but a latin-1 string")
    return text.encode("latin-1", errors)


def _frozen_dict(*args, **kwargs) -> dict:
    # flax.core.frozen_dict.FrozenDict.__reduce__ -> (FrozenDict, (plain_dict,)); map it to the plain dict
    return dict(*args, **kwargs)


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _safe_codecs_encode,
    ("flax.core.frozen_dict", "FrozenDict"): _frozen_dict,
}
for _mod in ("numpy.core", "numpy._core"):
    _ALLOWED_GLOBALS[(f"{_mod}.multiarray", "_reconstruct")] = _safe_reconstruct
    _ALLOWED_GLOBALS[(f"{_mod}.multiarray", "scalar")] = _safe_scalar
    _ALLOWED_GLOBALS[(f"{_mod}.numeric", "_frombuffer")] = _safe_frombuffer


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that only admits what an original Needle checkpoint contains.

    Containers, strings and numbers are pickle opcodes and need no globals. The only globals allowed are the ones
    numpy arrays, dtypes and scalars unpickle through (numpy 1.x ``numpy.core.*`` and 2.x ``numpy._core.*`` names;
    ``_frombuffer`` for protocol 5, latin-1 ``_codecs.encode`` for protocols 0-2) and Flax ``FrozenDict`` (built as
    a plain ``dict``, Flax is not imported). Everything else raises :class:`UnsafeCheckpointError` before it could
    be called. Persistent ids are refused too.
    """

    source = "the checkpoint"

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeCheckpointError(
                f"refusing to load {self.source}: it references the Python object {module}.{name}. Original Needle "
                "checkpoints contain only dicts, lists, numbers, strings and numpy arrays, so this file is either "
                "not a Needle checkpoint or was built to run code when unpickled. Nothing was executed. Do not open "
                "it with pickle.load; if you trust it, re-save its parameters as plain dicts of numpy arrays."
            ) from None

    def persistent_load(self, pid):
        raise UnsafeCheckpointError(f"refusing to load {self.source}: it uses pickle persistent ids ({pid!r})")


def safe_load_pickle(data: bytes, source: str = "the checkpoint") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; errors name ``source``."""
    unpickler = RestrictedUnpickler(io.BytesIO(data))
    unpickler.source = source
    try:
        obj = unpickler.load()
    except UnsafeCheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            struct.error, UnicodeDecodeError) as err:
        raise ValueError(f"{source} is not a readable pickle ({type(err).__name__}: {err})") from None
    _refuse_object_arrays(obj, source)
    return obj


def _refuse_object_arrays(obj, source: str, depth: int = 0) -> None:
    # ndarray.__setstate__ takes its dtype from the stream, so object arrays can only be caught after loading.
    # Their elements went through the same restricted unpickler; they are refused because no checkpoint needs them.
    if depth > 100:
        raise ValueError(f"{source}: nesting deeper than 100 levels; not a Needle checkpoint")
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise UnsafeCheckpointError(f"refusing to load {source}: it contains a numpy array of Python objects "
                                    "(dtype=object); Needle checkpoints hold numeric arrays only")
    if isinstance(obj, dict):
        for value in obj.values():
            _refuse_object_arrays(value, source, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _refuse_object_arrays(value, source, depth + 1)


# ==================================================================================================================
# 2. Config and parameter tree
# ==================================================================================================================

# Class defaults of the reference TransformerConfig (spec §1.1). The pickled config holds only explicitly set fields.
V1_CONFIG_DEFAULTS: dict[str, Any] = {
    "vocab_size": 8192, "d_model": 128, "num_heads": 4, "num_kv_heads": 2, "num_encoder_layers": 2,
    "num_decoder_layers": 2, "d_ff": 512, "max_seq_len": 128, "pad_token_id": 0, "rope_theta": 10000.0,
    "dtype": "bfloat16", "activation": "drelu", "num_memory_slots": 64, "dropout_rate": 0.1, "contrastive_dim": 128,
    "no_feedforward": True, "rope_keys_only": False,
}
# Fields that exist in the reference config but change nothing in a no-FFN model (spec §1.1, §10.9).
_V1_UNUSED_KEYS = {"d_ff", "max_seq_len", "dtype", "activation", "num_memory_slots"}
_V1_MAX_ENCODER_LENGTH, _V1_MAX_DECODER_LENGTH = 1024, 512  # tokenizer constants of v1 (spec §2.3-2.4)


def _as_int(cfg: dict, key: str) -> int:
    value = cfg[key]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"checkpoint config {key!r} must be an integer, got {value!r}")
    return int(value)


def config_from_v1(v1_config: dict | None, **overrides):
    """``NeedleConfig`` for a v1 checkpoint config (missing keys take the reference class defaults).

    Returns ``(config, resolved_v1_config, unknown_keys)``. ``ensure_ascii_json`` is True (v1 was trained on
    ASCII-escaped JSON). ``overrides`` are passed to ``NeedleConfig``.
    """
    from needle_hf.modeling import NeedleConfig

    if v1_config is None:
        v1_config = {}
    if not isinstance(v1_config, dict):
        raise ValueError(f"checkpoint['config'] must be a dict, got {type(v1_config).__name__}")
    unknown = sorted(str(k) for k in v1_config if k not in V1_CONFIG_DEFAULTS)
    cfg = {**V1_CONFIG_DEFAULTS, **v1_config}
    if not cfg["no_feedforward"]:
        raise ValueError("checkpoint config has no_feedforward=False: v1 checkpoints with feed-forward layers are not "
                         "supported (the released Needle has none).")
    if cfg["rope_keys_only"]:
        raise ValueError("checkpoint config has rope_keys_only=True, which the released Needle never used and this "
                         "model does not implement.")
    config = NeedleConfig(**{
        "vocab_size": _as_int(cfg, "vocab_size"),
        "d_model": _as_int(cfg, "d_model"),
        "num_attention_heads": _as_int(cfg, "num_heads"),
        "num_key_value_heads": _as_int(cfg, "num_kv_heads"),
        "encoder_layers": _as_int(cfg, "num_encoder_layers"),
        "decoder_layers": _as_int(cfg, "num_decoder_layers"),
        "contrastive_dim": _as_int(cfg, "contrastive_dim"),
        "rope_theta": float(cfg["rope_theta"]),
        "dropout": float(cfg["dropout_rate"]),
        "pad_token_id": _as_int(cfg, "pad_token_id"),
        "max_encoder_length": _V1_MAX_ENCODER_LENGTH,
        "max_decoder_length": _V1_MAX_DECODER_LENGTH,
        "ensure_ascii_json": True,
        **overrides,
    })
    return config, {k: _plain(v) for k, v in cfg.items()}, unknown


def _plain(value):
    """numpy scalars -> Python values (for JSON and the model card)."""
    return value.item() if isinstance(value, np.generic) else value


def _attention_leaves(prefix: tuple, layers: int, d: int, heads: int, kv_heads: int, hd: int) -> dict:
    return {
        prefix + ("q_proj", "kernel"): (layers, d, heads * hd),
        prefix + ("k_proj", "kernel"): (layers, d, kv_heads * hd),
        prefix + ("v_proj", "kernel"): (layers, d, kv_heads * hd),
        prefix + ("out_proj", "kernel"): (layers, heads * hd, d),
        prefix + ("q_norm", "scale"): (layers, hd),
        prefix + ("k_norm", "scale"): (layers, hd),
    }


def expected_v1_shapes(config) -> dict[tuple[str, ...], tuple[int, ...]]:
    """The exact v1 parameter tree (spec §1.7) for a ``NeedleConfig``: ``{path: shape}``, paths below ``params``."""
    d, h, kv, hd = config.d_model, config.num_attention_heads, config.num_key_value_heads, config.head_dim
    E, D, V = config.encoder_layers, config.decoder_layers, config.vocab_size
    enc, dec = ("encoder", "layers", "EncoderBlock_0"), ("decoder", "layers", "DecoderBlock_0")
    shapes = {
        ("embedding", "embedding"): (V, d),
        enc + ("ZCRMSNorm_0", "scale"): (E, d),
        enc + ("attn_gate",): (E,),
        **_attention_leaves(enc + ("self_attn",), E, d, h, kv, hd),
        ("encoder", "final_norm", "scale"): (d,),
        dec + ("ZCRMSNorm_0", "scale"): (D, d),
        dec + ("ZCRMSNorm_1", "scale"): (D, d),
        dec + ("self_attn_gate",): (D,),
        dec + ("cross_attn_gate",): (D,),
        **_attention_leaves(dec + ("self_attn",), D, d, h, kv, hd),
        **_attention_leaves(dec + ("cross_attn",), D, d, h, kv, hd),
        ("decoder", "ZCRMSNorm_0", "scale"): (d,),
        ("contrastive_hidden", "kernel"): (d, d // 4),
        ("contrastive_hidden", "bias"): (d // 4,),
        ("contrastive_proj", "kernel"): (d // 4, config.contrastive_dim),
        ("log_temp",): (),
    }
    return shapes


def _path_str(path: tuple) -> str:
    return "params" + "".join(f"[{p!r}]" for p in path)


def _flatten(tree, prefix: tuple = ()) -> dict[tuple, Any]:
    if isinstance(tree, dict):
        if not tree and prefix:
            return {prefix: tree}  # an empty sub-dict is a leaf that matches nothing (reported as unexpected)
        out = {}
        for key, value in tree.items():
            out.update(_flatten(value, prefix + (key,)))
        return out
    return {prefix: tree}


def _leaf_array(path: tuple, value) -> np.ndarray:
    if isinstance(value, (np.ndarray, np.generic, float)):
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            return arr
    kind = f"array of dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
    raise CheckpointMismatchError(f"{_path_str(path)} must be a floating-point numpy array, got {kind}")


def _mapping_rules(config) -> list[tuple[tuple, str, str]]:
    """(v1 path, torch name (``{i}`` = layer), how) for every leaf; how: copy | kernel | stack | stack_kernel."""
    enc, dec = ("encoder", "layers", "EncoderBlock_0"), ("decoder", "layers", "DecoderBlock_0")
    rules = [(("embedding", "embedding"), "model.shared.weight", "copy"),
             (enc + ("ZCRMSNorm_0", "scale"), "model.encoder.layers.{i}.self_attn_norm.weight", "stack"),
             (enc + ("attn_gate",), "model.encoder.layers.{i}.self_attn_gate", "stack"),
             (("encoder", "final_norm", "scale"), "model.encoder.norm.weight", "copy"),
             (dec + ("ZCRMSNorm_0", "scale"), "model.decoder.layers.{i}.self_attn_norm.weight", "stack"),
             (dec + ("ZCRMSNorm_1", "scale"), "model.decoder.layers.{i}.cross_attn_norm.weight", "stack"),
             (dec + ("self_attn_gate",), "model.decoder.layers.{i}.self_attn_gate", "stack"),
             (dec + ("cross_attn_gate",), "model.decoder.layers.{i}.cross_attn_gate", "stack"),
             (("decoder", "ZCRMSNorm_0", "scale"), "model.decoder.norm.weight", "copy"),
             (("contrastive_hidden", "kernel"), "model.contrastive_hidden.weight", "kernel"),
             (("contrastive_hidden", "bias"), "model.contrastive_hidden.bias", "copy"),
             (("contrastive_proj", "kernel"), "model.contrastive_proj.weight", "kernel"),
             (("log_temp",), "model.log_temp", "copy")]
    for block, torch_block, attns in ((enc, "model.encoder.layers.{i}", ("self_attn",)),
                                      (dec, "model.decoder.layers.{i}", ("self_attn", "cross_attn"))):
        for attn in attns:
            for v1_name, torch_name in (("q_proj", "q_proj"), ("k_proj", "k_proj"), ("v_proj", "v_proj"),
                                        ("out_proj", "o_proj")):
                rules.append((block + (attn, v1_name, "kernel"), f"{torch_block}.{attn}.{torch_name}.weight",
                              "stack_kernel"))
            for norm in ("q_norm", "k_norm"):
                rules.append((block + (attn, norm, "scale"), f"{torch_block}.{attn}.{norm}.weight", "stack"))
    return rules


def check_v1_tree(params: dict, config, source: str = "the checkpoint") -> dict[tuple, np.ndarray]:
    """Flatten ``params`` and check it against :func:`expected_v1_shapes`; returns ``{path: array}``.

    Raises :class:`CheckpointMismatchError` listing every missing key, unexpected key and wrong shape (with the
    expected and the actual shape).
    """
    if not isinstance(params, dict):
        raise CheckpointMismatchError(f"{source}: 'params' must be a dict of arrays, got {type(params).__name__}")
    flat = _flatten(params)
    expected = expected_v1_shapes(config)
    missing = [p for p in expected if p not in flat]
    unexpected = [p for p in flat if p not in expected]
    arrays, wrong = {}, []
    for path, shape in expected.items():
        if path in flat:
            arr = _leaf_array(path, flat[path])
            arrays[path] = arr
            if tuple(arr.shape) != shape:
                wrong.append(f"{_path_str(path)}: expected shape {shape}, got {tuple(arr.shape)}")
    if missing or unexpected or wrong:
        c = config
        lines = [f"{source} does not match a Needle v1 model with d_model={c.d_model}, num_heads="
                 f"{c.num_attention_heads}, num_kv_heads={c.num_key_value_heads}, {c.encoder_layers} encoder / "
                 f"{c.decoder_layers} decoder layers, vocab_size={c.vocab_size}, contrastive_dim={c.contrastive_dim} "
                 "(from the checkpoint's config and the reference defaults):"]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): " + ", ".join(_path_str(p) for p in missing))
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): " + ", ".join(_path_str(p) for p in unexpected))
        if wrong:
            lines.append(f"  wrong shapes ({len(wrong)}):")
            lines.extend(f"    {w}" for w in wrong)
        raise CheckpointMismatchError("\n".join(lines))
    return arrays


def v1_params_to_state_dict(params: dict, config, dtype=None, source: str = "the checkpoint") -> dict:
    """Map a v1 ``params`` tree to a ``NeedleForConditionalGeneration`` state dict (``torch.float32`` by default).

    Kernels are transposed, stacked layers split, gates/norms copied raw, the embedding also written under the tied
    names. The tree is validated first (:func:`check_v1_tree`).
    """
    import torch

    dtype = dtype or torch.float32
    arrays = check_v1_tree(params, config, source)
    layers = {"encoder": config.encoder_layers, "decoder": config.decoder_layers}
    state = {}

    def tensor(a: np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(dtype)

    for path, name, how in _mapping_rules(config):
        arr = arrays[path]
        if how == "copy":
            state[name] = tensor(arr)
        elif how == "kernel":
            state[name] = tensor(arr.T)
        else:
            for i in range(layers[path[0]]):
                state[name.format(i=i)] = tensor(arr[i].T if how == "stack_kernel" else arr[i])
    emb = state["model.shared.weight"]
    for tied in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
        state[tied] = emb
    return state


# ==================================================================================================================
# 3. Loading a checkpoint
# ==================================================================================================================

@dataclasses.dataclass
class V1Checkpoint:
    params: dict
    config: dict | None
    extra: dict  # other top-level entries (e.g. pretrain_step), recorded in the model card
    sha256: str
    size: int
    name: str


def load_v1_checkpoint(path: str | os.PathLike) -> V1Checkpoint:
    """Read an original ``{"params": ..., "config": ...}`` pickle safely (see :class:`RestrictedUnpickler`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    data = path.read_bytes()
    obj = safe_load_pickle(data, source=str(path))
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict with 'params' and 'config', got {type(obj).__name__}")
    if "params" in obj:
        params, config = obj["params"], obj.get("config")
        extra = {str(k): v for k, v in obj.items() if k not in ("params", "config")}
    elif "embedding" in obj:  # a bare parameter tree
        params, config, extra = obj, None, {}
    else:
        raise ValueError(f"{path}: no 'params' entry (top-level keys: {', '.join(map(str, obj)) or 'none'}); "
                         "expected an original Needle checkpoint {'params': ..., 'config': ...}")
    if isinstance(params, dict) and set(params) == {"params"}:  # Flax variables dict {"params": {...}}
        params = params["params"]
    extra_summary = {k: _plain(v) if isinstance(v, (int, float, str, bool, np.generic)) else type(v).__name__
                     for k, v in extra.items()}
    return V1Checkpoint(params=params, config=config, extra=extra_summary, sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), name=path.name)


# ==================================================================================================================
# 4. SentencePiece -> tokenizers
# ==================================================================================================================

# SentencePiece piece types (sentencepiece_model.proto)
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("malformed varint")


def _proto_fields(buf: bytes):
    """Yield (field number, value) of a protobuf message: ints for varints, bytes for the other wire types."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf message")
        yield field, value


def _int32(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclasses.dataclass
class SentencePieceModel:
    """The parts of a SentencePiece ``ModelProto`` the conversion needs (proto2 defaults applied)."""
    pieces: list[tuple[str, float, int]]  # (piece, score, type)
    model_type: int = 1  # 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR
    byte_fallback: bool = False
    treat_whitespace_as_suffix: bool = False
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    pad_id: int = -1
    normalizer_name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    has_denormalizer: bool = False
    serialized: bytes = b""


def read_sentencepiece_model(path_or_bytes: str | os.PathLike | bytes) -> SentencePieceModel:
    """Parse a SentencePiece ``.model`` file (protobuf) without needing the protobuf package."""
    data = bytes(path_or_bytes) if isinstance(path_or_bytes, (bytes, bytearray)) else Path(path_or_bytes).read_bytes()
    model = SentencePieceModel(pieces=[], serialized=data)
    try:
        for field, value in _proto_fields(data):
            if field == 1:
                piece, score, ptype = "", 0.0, _NORMAL
                for f, v in _proto_fields(value):
                    if f == 1:
                        piece = v.decode("utf-8")
                    elif f == 2:
                        score = struct.unpack("<f", v)[0]
                    elif f == 3:
                        ptype = v
                model.pieces.append((piece, score, ptype))
            elif field == 2:
                for f, v in _proto_fields(value):
                    if f == 3:
                        model.model_type = v
                    elif f == 35:
                        model.byte_fallback = bool(v)
                    elif f == 24:
                        model.treat_whitespace_as_suffix = bool(v)
                    elif f in (40, 41, 42, 43):
                        setattr(model, {40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}[f], _int32(v))
            elif field == 3:
                for f, v in _proto_fields(value):
                    if f == 1:
                        model.normalizer_name = v.decode("utf-8")
                    elif f == 2:
                        model.precompiled_charsmap = bytes(v)
                    elif f in (3, 4, 5):
                        setattr(model, {3: "add_dummy_prefix", 4: "remove_extra_whitespaces",
                                        5: "escape_whitespaces"}[f], bool(v))
            elif field == 5:
                model.has_denormalizer = any(f == 2 and v for f, v in _proto_fields(value))
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as err:
        raise ValueError(f"not a SentencePiece model file ({err})") from None
    if not model.pieces:
        raise ValueError("not a SentencePiece model file (no pieces)")
    return model


def _check_needle_pieces(spm: SentencePieceModel) -> None:
    types = {_CONTROL: "control", _UNKNOWN: "unknown", _USER_DEFINED: "user-defined"}
    want = {0: _CONTROL, 1: _CONTROL, 2: _CONTROL, 3: _UNKNOWN, 4: _USER_DEFINED, 5: _USER_DEFINED}
    for i, piece in SPECIAL_PIECES.items():
        got = spm.pieces[i] if i < len(spm.pieces) else None
        if got is None or got[0] != piece or got[2] != want[i]:
            found = f"{got[0]!r}" if got else "nothing"
            raise ValueError(f"SentencePiece id {i} must be the {types[want[i]]} piece {piece!r} (Needle's fixed "
                             f"special ids: pad 0, eos 1, bos 2, unk 3, <tool_call> 4, <tools> 5); found {found}")


def sentencepiece_to_tokenizer(spm: SentencePieceModel | str | os.PathLike | bytes):
    """Rebuild a SentencePiece BPE model as a ``tokenizers.Tokenizer`` that yields the same ids.

    transformers' generic SentencePiece converter keeps the vocabulary and byte fallback but not SentencePiece's
    normaliser flags, so on Needle's model it drops the dummy prefix, keeps whitespace runs and does not match
    user-defined symbols mid-word. This builds the pipeline explicitly:

    - normaliser (whole text, identity rule): strip leading spaces, collapse runs of spaces (U+0020 only, as
      ``remove_extra_whitespaces``), spaces -> ``▁``, prepend the dummy ``▁``, drop trailing ``▁`` (SentencePiece
      strips them after escaping, so a literal trailing ``▁`` goes too);
    - user-defined symbols (``<tool_call>``, ``<tools>``) are *normalized* added tokens, matched anywhere in the
      normalised text like SentencePiece's prefix matcher; control pieces are added tokens that are never matched
      in text (``split_special_tokens``), as in SentencePiece;
    - pre-tokenizer: split before every ``▁`` (SentencePiece's word split); model: BPE with byte fallback whose
      merges are ranked by piece score (SentencePiece merges the highest-scoring pair first, leftmost on ties);
      control, unknown, byte and user-defined pieces are never merge results;
    - decoder: ``▁`` -> space, byte fallback, fuse, strip the leading (dummy) spaces.

    Known differences (both outside what encoding real text produces): a text consisting of nothing but one
    user-defined symbol (``"<tools>"``, ignoring surrounding whitespace, SentencePiece's own ``▁`` included)
    encodes as ``[5]`` where SentencePiece gives ``[▁, 5]`` (an added token cannot be told apart from the whole
    text); decoding a run of byte pieces that is not valid UTF-8 gives one U+FFFD per byte, and ``<unk>`` decodes
    to "" rather than " ⁇ ".
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    if not isinstance(spm, SentencePieceModel):
        spm = read_sentencepiece_model(spm)
    if spm.model_type != 2:
        kind = {1: "unigram", 3: "word", 4: "char"}.get(spm.model_type, str(spm.model_type))
        raise ValueError(f"only SentencePiece BPE models can be converted (Needle v1 uses BPE); this one is {kind}")
    if spm.treat_whitespace_as_suffix or not spm.escape_whitespaces or spm.has_denormalizer:
        raise ValueError("unsupported SentencePiece options (treat_whitespace_as_suffix, escape_whitespaces=False or "
                         "a denormalizer); Needle v1 uses none of them")
    pieces = [p for p, _, _ in spm.pieces]
    vocab = {}
    for i, piece in enumerate(pieces):
        if piece in vocab:
            raise ValueError(f"SentencePiece piece {piece!r} appears twice (ids {vocab[piece]} and {i})")
        vocab[piece] = i
    unk_piece = pieces[spm.unk_id] if 0 <= spm.unk_id < len(pieces) else "<unk>"
    normal = {p: i for i, (p, _, t) in enumerate(spm.pieces) if t == _NORMAL}
    merges = []
    for piece, i in normal.items():
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in normal and right in normal:
                merges.append((-spm.pieces[i][1], i, left, right))
    merges.sort()
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[(left, right) for *_, left, right in merges],
                                     unk_token=unk_piece, byte_fallback=spm.byte_fallback, fuse_unk=False,
                                     dropout=None))
    user_symbols = [p for p, _, t in spm.pieces if t == _USER_DEFINED]
    steps = []
    if spm.precompiled_charsmap:
        steps.append(normalizers.Precompiled(spm.precompiled_charsmap))
    if spm.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex(r"\A +"), ""), normalizers.Replace(Regex(r" {2,}"), " ")]
    steps.append(normalizers.Replace(" ", "▁"))
    if spm.add_dummy_prefix:
        steps.append(normalizers.Prepend("▁"))
    if spm.remove_extra_whitespaces:
        steps.append(normalizers.Replace(Regex(r"▁+\z"), ""))
    if spm.add_dummy_prefix and user_symbols:
        # The added-token patterns are the symbols passed through this same normaliser; without this step they would
        # carry the dummy "▁" and only match after a space. (Side effect: the documented whole-text case above.)
        alternatives = "|".join(re.escape(s) for s in sorted(user_symbols, key=len, reverse=True))
        steps.append(normalizers.Replace(Regex(rf"\A▁(?=(?:{alternatives})\z)"), ""))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    decode_steps = [decoders.Replace("▁", " ")]
    if spm.byte_fallback:
        decode_steps.append(decoders.ByteFallback())
    decode_steps.append(decoders.Fuse())
    if spm.add_dummy_prefix:
        decode_steps.append(decoders.Strip(" ", 1_000_000, 0))  # SentencePiece drops leading "▁" until real text
    tokenizer.decoder = decoders.Sequence(decode_steps)
    control = [p for p, _, t in spm.pieces if t in (_CONTROL, _UNKNOWN)]
    tokenizer.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in control])
    tokenizer.add_tokens([AddedToken(p, special=False, normalized=True) for p in user_symbols])
    tokenizer.encode_special_tokens = True
    return tokenizer


def wrap_v1_tokenizer(backend):
    """``PreTrainedTokenizerFast`` around :func:`sentencepiece_to_tokenizer`'s output with Needle's special ids.

    ``<tool_call>``/``<tools>`` are listed as additional special tokens (so code can look them up like the native
    tokenizer's) but stay *non-special* in the backend: like SentencePiece user-defined symbols they are matched in
    text and decode to their text, also with ``skip_special_tokens=True`` (``parse_calls`` ignores a leading
    ``<tool_call>``). ``split_special_tokens=True`` keeps literal ``</s>`` etc. in text as ordinary characters.
    """
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", bos_token="<s>", unk_token="<unk>",
        additional_special_tokens=["<tool_call>", "<tools>"], split_special_tokens=True,
        model_max_length=_V1_MAX_ENCODER_LENGTH, padding_side="right", clean_up_tokenization_spaces=False,
    )


def probe_texts(spm: SentencePieceModel, n_random: int = 300, seed: int = 0) -> list[str]:
    """Texts the conversion is checked on: tool-call strings, unicode, whitespace runs, control/symbol look-alikes,
    every normal piece's surface form, and seeded random concatenations of pieces and odd characters."""
    fixed = [
        "What's the weather in Paris tomorrow?", "Set a timer for 5 minutes", "  leading and trailing  ",
        "runs   of    spaces", "tabs\tand\nnewlines\r\n", " \t ", "   ", "", "a", "▁", "x▁", "▁▁x", "a ▁ b",
        '[{"name":"get_weather","description":"Get the weather","parameters":{"location":{"type":"string",'
        '"description":"City","required":true}}}]',
        '[{"name":"get_weather","arguments":{"location":"Z\\u00fcrich"}}]', "[]",
        '[{"name":"send_message","arguments":{"to":"Zoë","text":"Grüße aus Köln!"}}]',
        "東京の天気は？", "北京今天天气怎么样", "안녕하세요", "Привет, мир", "مرحبا", "😀🎉 emoji 👍🏽 and ZWJ 👨‍👩‍👧",
        "café naïve résumé jalapeño Ångström", "e\u0301 combining", "\u00a0nbsp\u3000ideographic space",
        "<tools>x", "a <tools> b", "a<tool_call>b", "<tool_call>[]", "<tools><tool_call>", "x <tools>  ",
        "</s> <s> <pad> <unk>", "<tools></s>", "<0x41> <0xZZ>", "\x00\x01\x7f", "emoji🙂inside",
    ]
    surfaces = [p.replace("▁", " ") for p, _, t in spm.pieces if t == _NORMAL]
    rng = random.Random(seed)
    odd = [" ", "  ", "\t", "\n", "<tools>", "<tool_call>", "é", "😀", "東", "▁", '":"', "0", "\\u00e9"]
    randoms = []
    for _ in range(n_random):
        parts = [rng.choice(surfaces) if rng.random() < 0.8 else rng.choice(odd) for _ in range(rng.randint(1, 8))]
        randoms.append("".join(parts))
    symbols = {p for p, _, t in spm.pieces if t == _USER_DEFINED}
    return [t for t in fixed + surfaces + randoms if t.strip(" ") not in symbols]  # documented whole-text case


def check_tokenizer(tokenizer, spm_model: bytes, texts: Iterable[str]) -> list[tuple[str, list[int], list[int]]]:
    """Encode and decode ``texts`` with ``sentencepiece`` and with ``tokenizer``; return the mismatches as
    ``(text, sentencepiece ids, converted ids)`` (decode mismatches are reported with the text ``"decode: ..."``)."""
    try:
        import sentencepiece
    except ImportError as err:  # pragma: no cover
        raise ImportError("checking the converted tokenizer needs sentencepiece: pip install 'needle-hf[convert]'") \
            from err
    sp = sentencepiece.SentencePieceProcessor()
    sp.LoadFromSerializedProto(spm_model)
    texts = list(texts)
    expected = sp.encode(texts)
    got = tokenizer(texts, add_special_tokens=False)["input_ids"]
    bad = [(t, e, g) for t, e, g in zip(texts, expected, got) if e != g]
    for text, ids in zip(texts, expected):
        if sp.decode(ids) != tokenizer.decode(ids, skip_special_tokens=True):
            bad.append((f"decode: {text}", ids, ids))
    return bad


# ==================================================================================================================
# 5. Writing the folder
# ==================================================================================================================

@dataclasses.dataclass
class ConversionResult:
    out_dir: Path
    config: Any  # NeedleConfig
    num_parameters: int
    checkpoint_sha256: str
    tokenizer_sha256: str
    tokenizer_texts_checked: int
    unknown_config_keys: list[str]
    files: list[str]


def _relative_imports(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*from \.([A-Za-z_][A-Za-z0-9_]*) import ", line)
        if m:
            names.add(m.group(1))
    return names


def _write_remote_code(model, out_dir: str | os.PathLike) -> None:
    """Save ``model`` as Hub remote code with the tool-calling pipeline entry (stand-in for the lead's hub helper).

    register_for_auto_class makes save_pretrained copy configuration/modeling and write ``auto_map``; the
    ``custom_pipelines`` entry is written into config.json and pipeline_tool_calling.py plus every sibling file it
    imports relatively (tools.py, constrained.py, ...) are copied from the installed modeling folder.
    """
    from needle_hf import modeling

    type(model.config).register_for_auto_class()
    type(model).register_for_auto_class("AutoModelForSeq2SeqLM")
    model.config.custom_pipelines = {"tool-calling": {"impl": "pipeline_tool_calling.ToolCallingPipeline",
                                                      "pt": ["AutoModelForSeq2SeqLM"], "tf": []}}
    model.save_pretrained(out_dir)
    src = Path(modeling.__file__).resolve().parent
    todo, done = ["pipeline_tool_calling"], set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        shutil.copyfile(src / f"{name}.py", Path(out_dir) / f"{name}.py")
        todo.extend(_relative_imports(src / f"{name}.py") - done)


def _save_folder(model, tokenizer, out: Path, card_text: str) -> None:
    """Write the complete folder with the team's ``needle_hf.saving.save_model_folder`` (weights, generation config,
    tokenizer, remote code, custom pipeline, card); :func:`_write_remote_code` is the stand-in where it is missing."""
    try:
        from needle_hf.saving import save_model_folder
    except ImportError:  # checkout without the shared helper
        from needle_hf.tokenization import save_tokenizer

        out.mkdir(parents=True, exist_ok=True)
        _write_remote_code(model, out)
        save_tokenizer(tokenizer, out)
        (out / "README.md").write_text(card_text, encoding="utf-8")
        return
    save_model_folder(model, tokenizer, out, card=card_text)


def _model_card_text(ckpt: V1Checkpoint, spm_name: str, spm_sha: str, v1_config: dict, unknown: list[str],
                     config, dtype_name: str, n_params: int, n_checked: int) -> str:
    from huggingface_hub import ModelCardData

    import needle_hf

    data = ModelCardData(library_name="transformers", tags=["needle", "tool-calling", "function-calling",
                                                            "encoder-decoder", "converted"])
    stored = json.dumps(ckpt.config if isinstance(ckpt.config, dict) else {}, default=_plain, sort_keys=True)
    resolved = {k: getattr(config, k) for k in ("vocab_size", "d_model", "num_attention_heads",
                                                "num_key_value_heads", "encoder_layers", "decoder_layers",
                                                "contrastive_dim", "rope_theta", "dropout", "ensure_ascii_json")}
    lines = [
        "---", data.to_yaml(), "---", "",
        f"# Needle v1 (converted from `{ckpt.name}`)", "",
        "Needle is an attention-only encoder-decoder (\"Simple Attention Network\") that turns a request and a list "
        "of tools into JSON tool calls. This folder was converted from an original Needle v1 JAX checkpoint with "
        f"`needle-hf convert` (needle-hf {needle_hf.__version__}).", "",
        "## Usage", "", "```python",
        "import needle_hf  # or pass trust_remote_code=True without the package",
        "from transformers import pipeline",
        'pipe = pipeline("tool-calling", model="PATH_OR_REPO")',
        'pipe("What\'s the weather in Paris?", tools=[{"name": "get_weather", "description": "Current weather",',
        '     "parameters": {"location": {"type": "string", "description": "City", "required": True}}}])',
        "```", "",
        "## Conversion", "",
        "| | |", "|---|---|",
        f"| source checkpoint | `{ckpt.name}` ({ckpt.size:,} bytes) |",
        f"| checkpoint sha256 | `{ckpt.sha256}` |",
        f"| source tokenizer | `{spm_name}` |",
        f"| tokenizer sha256 | `{spm_sha}` |",
        f"| parameters | {n_params:,} |",
        f"| stored dtype | {dtype_name} (checkpoint: float16) |",
        f"| tokenizer check | {n_checked:,} texts encoded and decoded id-for-id like sentencepiece |", "",
        f"Config stored in the checkpoint: `{stored}`", "",
        f"Resolved (missing keys take the reference defaults): `{json.dumps(v1_config, sort_keys=True)}`", "",
        f"As `NeedleConfig`: `{json.dumps(resolved, sort_keys=True)}`", "",
    ]
    if ckpt.extra:
        lines += [f"Other entries in the checkpoint: `{json.dumps(ckpt.extra, sort_keys=True)}`", ""]
    if "pretrain_step" in ckpt.extra:
        lines += ["This is a **pretraining** checkpoint (it has `pretrain_step`): it was not post-trained on tool "
                  "calls and never saw the `<tool_call>` token (spec §2.4), so expect no useful calls before "
                  "finetuning.", ""]
    if unknown:
        lines += [f"Config keys not known to the converter (ignored): {', '.join(unknown)}", ""]
    lines += [
        "## Behaviour inherited from v1", "",
        "- Tools and answers are serialised with `ensure_ascii=True` (`\\u00fc` escapes), as the model was trained "
        "(`config.ensure_ascii_json = true`; the pipeline follows it).",
        "- The SentencePiece tokenizer adds a dummy leading space, collapses runs of spaces and drops leading/"
        "trailing spaces, so argument values with repeated spaces cannot be reproduced exactly.",
        "- `<tools>` and `<tool_call>` typed inside a request are matched as the special symbols, as in v1.",
        "- The weights are the original fp16 values; v1 ran them in bfloat16, so outputs can differ from the "
        "reference implementation in rare near-tie cases.",
    ]
    return "\n".join(lines) + "\n"


_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16"}


def convert_checkpoint(checkpoint: str | os.PathLike, spm: str | os.PathLike, out_dir: str | os.PathLike,
                       dtype: str = "float32", overwrite: bool = False, check_tokenizer_ids: bool = True,
                       ) -> ConversionResult:
    """Convert ``checkpoint`` (original Needle pickle) + ``spm`` (SentencePiece ``.model``) into ``out_dir``.

    Everything is read and checked before anything is written. ``dtype``: float32 (default), bfloat16 or float16.
    ``out_dir`` must not exist or be empty unless ``overwrite``. Returns a :class:`ConversionResult`.
    """
    import torch
    from transformers import GenerationConfig

    from needle_hf.modeling import NeedleForConditionalGeneration

    if str(dtype).lower() not in _DTYPES:
        raise ValueError(f"dtype must be one of float32, bfloat16, float16; got {dtype!r}")
    dtype_name = _DTYPES[str(dtype).lower()]
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not overwrite)):
        raise FileExistsError(f"{out} exists and is not an empty folder; choose another --out or pass --overwrite")
    spm_path = Path(spm)
    if not spm_path.is_file():
        raise FileNotFoundError(f"SentencePiece model not found: {spm_path}")

    ckpt = load_v1_checkpoint(checkpoint)
    config, v1_config, unknown = config_from_v1(ckpt.config)
    if unknown:
        logger.warning("%s: config keys not known to the converter were ignored: %s", ckpt.name, ", ".join(unknown))
    state = v1_params_to_state_dict(ckpt.params, config, source=str(checkpoint))

    spm_model = read_sentencepiece_model(spm_path)
    _check_needle_pieces(spm_model)
    if len(spm_model.pieces) != config.vocab_size:
        raise ValueError(f"{spm_path.name} has {len(spm_model.pieces)} pieces but the checkpoint's embedding has "
                         f"{config.vocab_size} rows: the tokenizer does not belong to this checkpoint")
    tokenizer = wrap_v1_tokenizer(sentencepiece_to_tokenizer(spm_model))
    n_checked = 0
    if check_tokenizer_ids:
        texts = probe_texts(spm_model)
        bad = check_tokenizer(tokenizer, spm_model.serialized, texts)
        if bad:
            shown = "\n".join(f"  {t!r}: sentencepiece {e}, converted {g}" for t, e, g in bad[:10])
            raise ValueError(f"the converted tokenizer differs from sentencepiece on {len(bad)} of {len(texts)} probe "
                             f"texts:\n{shown}\nPlease report this with the .model file.")
        n_checked = len(texts)

    model = NeedleForConditionalGeneration(config).eval()
    expected_keys = set(model.state_dict())
    if set(state) != expected_keys:  # the mapping table and modeling_needle.py disagree: a bug, not a user error
        raise RuntimeError(f"converter/model mismatch: not produced {sorted(expected_keys - set(state))}, "
                           f"unknown {sorted(set(state) - expected_keys)}")
    model.load_state_dict(state, strict=True)
    model.tie_weights()
    model.to(getattr(torch, dtype_name))
    model.generation_config = GenerationConfig(decoder_start_token_id=1, eos_token_id=1, pad_token_id=0,
                                               bos_token_id=2, max_new_tokens=256, do_sample=False, num_beams=1)
    n_params = sum(p.numel() for p in model.parameters())  # tied embedding counted once

    spm_sha = hashlib.sha256(spm_model.serialized).hexdigest()
    card = _model_card_text(ckpt, spm_path.name, spm_sha, v1_config, unknown, config, dtype_name, n_params, n_checked)
    _save_folder(model, tokenizer, out, card)
    return ConversionResult(out_dir=out, config=config, num_parameters=n_params, checkpoint_sha256=ckpt.sha256,
                            tokenizer_sha256=spm_sha, tokenizer_texts_checked=n_checked, unknown_config_keys=unknown,
                            files=sorted(p.name for p in out.iterdir()))
