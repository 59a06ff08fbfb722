"""ONNX export of a Needle model: two graphs that any ONNX Runtime loop can decode with (KV cache included).

    encoder.onnx  input_ids (B, T) int64, attention_mask (B, T) int64
                  -> cross_key_values (L, 2, B, KV, T, hd) float32, retrieval_embedding (B, contrastive_dim) float32
                  The encoder output already projected to every decoder layer's cross-attention keys and values,
                  so a decode loop computes them once per request; and the tool-retrieval head's unit vector of the
                  input (what `encode_contrastive` gives: `top_k_tools` ranks tools by its dot products).
    decoder.onnx  decoder_input_ids (B, S) int64, encoder_attention_mask (B, T) int64, cross_key_values,
                  past_key_values (L, 2, B, KV, P, hd) float32 (P = 0 at the first step)
                  -> logits (B, S, V) float32, present_key_values (L, 2, B, KV, P + S, hd)

L = decoder layers, KV = key/value heads, hd = head dim; index 0 / 1 of the second axis is keys / values. The
graphs are traced from the model's own modules (`NeedleDecoder` with a tensor-backed cache), so they compute what
`generate()` computes. The export folder also holds config.json, generation_config.json, the tokenizer and
`needle_onnx.json` (graph names, quantization, the parity check measured at export time); `needle_hf.onnx_runner`
runs it behind the same tool-calling pipeline.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


MANIFEST = "needle_onnx.json"
FORMAT = "needle-onnx"
FORMAT_VERSION = 1
ENCODER_FILE, DECODER_FILE = "encoder.onnx", "decoder.onnx"
ENCODER_INPUTS, ENCODER_OUTPUTS = ("input_ids", "attention_mask"), ("cross_key_values", "retrieval_embedding")
DECODER_INPUTS = ("decoder_input_ids", "encoder_attention_mask", "cross_key_values", "past_key_values")
DECODER_OUTPUTS = ("logits", "present_key_values")
# Sample sizes for tracing: none may be 0 or 1, or the exporter freezes that dimension (hf-conventions §5).
_SAMPLE_BATCH, _SAMPLE_ENC, _SAMPLE_NEW, _SAMPLE_PAST = 2, 7, 3, 4


class _TensorCache:
    """The part of `EncoderDecoderCache` that `NeedleAttention` uses, over plain stacked tensors: cross-attention
    K/V are read from `cross`, self-attention K/V are appended to `past` and collected in `present`."""

    def __init__(self, past: torch.Tensor, cross: torch.Tensor):
        self.self_attention_cache = self
        self.cross_attention_cache = [(cross[i, 0], cross[i, 1]) for i in range(cross.shape[0])]
        self.is_updated = {i: True for i in range(cross.shape[0])}  # cross K/V are given: never recomputed
        self.past = past
        self.present: list[torch.Tensor | None] = [None] * past.shape[0]

    def get_seq_length(self, layer_idx: int = 0):
        return self.past.shape[-2]

    def update(self, k: torch.Tensor, v: torch.Tensor, layer_idx: int):
        k = torch.cat([self.past[layer_idx, 0], k], dim=-2)
        v = torch.cat([self.past[layer_idx, 1], v], dim=-2)
        self.present[layer_idx] = torch.stack([k, v])
        return k, v


class NeedleEncoderForExport(nn.Module):
    """encoder.onnx: token ids -> every decoder layer's cross-attention K/V, stacked, and the retrieval embedding."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        layers = self.model.get_decoder().layers
        cross = torch.stack([torch.stack(layer.cross_attn.cross_key_values(hidden)) for layer in layers])
        return cross, self.model.base_model.contrastive_embedding(hidden, attention_mask)


class NeedleDecoderForExport(nn.Module):
    """decoder.onnx: new tokens + past K/V -> logits + present K/V (one graph for the first and later steps)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, decoder_input_ids, encoder_attention_mask, cross_key_values, past_key_values):
        cache = _TensorCache(past_key_values, cross_key_values)
        hidden = self.model.get_decoder()(decoder_input_ids, None, encoder_attention_mask=encoder_attention_mask,
                                          past_key_values=cache)
        logits = F.linear(hidden.float(), self.model.get_output_embeddings().weight.float())  # tied, fp32
        return logits, torch.stack(cache.present)


@dataclass
class OnnxExportResult:
    out_dir: Path
    files: list[str]
    quantization: str | None
    max_abs_diff: float  # ONNX Runtime against torch (K/V, retrieval embedding, logits) on the check's sample
    greedy_tokens_match: bool  # the check's greedy decode gave the same tokens as torch generate()
    manifest: dict = field(default_factory=dict)


def _require_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch.onnx's exporter)
    except ImportError as err:
        raise ImportError(f"ONNX export needs onnx, onnxruntime and onnxscript ({err.name} is missing): "
                          "pip install 'needle-hf[onnx]'") from None


def _sample_inputs(config, generator: torch.Generator):
    low, high = 5, max(6, config.vocab_size)
    b, t, s, p = _SAMPLE_BATCH, _SAMPLE_ENC, _SAMPLE_NEW, _SAMPLE_PAST
    ids = torch.randint(low, high, (b, t), generator=generator)
    mask = torch.ones(b, t, dtype=torch.long)
    mask[1, -2:] = 0  # one padded row, so the padding mask is part of the check
    dec_ids = torch.randint(low, high, (b, s), generator=generator)
    past = torch.randn(config.decoder_layers, 2, b, config.num_key_value_heads, p, config.head_dim,
                       generator=generator)
    return ids, mask, dec_ids, past


def _export_graph(module: nn.Module, args: tuple, path: Path, input_names, output_names, dynamic_shapes,
                  opset: int | None) -> None:
    kwargs = {"opset_version": opset} if opset else {}
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")  # "torchvision is not installed"
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # the exporter's own deprecation notices
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, args, dynamo=True, input_names=list(input_names),
                                        output_names=list(output_names), dynamic_shapes=dynamic_shapes,
                                        verbose=False, **kwargs)
    finally:
        registration.setLevel(level)
    program.save(str(path))


def export_onnx(model, out_dir: str | os.PathLike, tokenizer=None, int8: bool = False, opset: int | None = None,
                overwrite: bool = False) -> OnnxExportResult:
    """Export a Needle model (a model folder / Hub id, or a loaded `NeedleForConditionalGeneration` with its
    `tokenizer`) to `out_dir`: encoder.onnx + decoder.onnx (see the module docstring), config, generation config,
    tokenizer and `needle_onnx.json`.

    `int8`: weights quantized to INT8 after export (ONNX Runtime dynamic quantization, per channel; about 3x
    smaller graphs, activations stay float). The export ends with a parity check against torch on random inputs
    (max difference of the outputs, greedy tokens), recorded in the manifest; an fp32 export that disagrees is an error.
    """
    _require_onnx()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the ONNX export")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out {out} is not empty; choose a new folder or pass --overwrite")
    source = None
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        model, tokenizer = _load(source)
    elif tokenizer is None:
        raise ValueError("export_onnx(model=<loaded model>) also needs tokenizer=")
    if getattr(model.config, "model_type", None) != "needle":
        raise ValueError(f"only Needle models can be exported (model_type {model.config.model_type!r})")
    if getattr(model, "peft_config", None):
        raise ValueError("this is a LoRA (peft) model: merge the adapter first (`needle-hf merge BASE ADAPTER --out "
                         "DIR`), then export the merged folder")
    model = model.float().eval()  # fp32 graphs; int8 comes from quantizing them
    out.mkdir(parents=True, exist_ok=True)
    for name in (ENCODER_FILE, DECODER_FILE, ENCODER_FILE + ".data", DECODER_FILE + ".data"):
        (out / name).unlink(missing_ok=True)

    ids, mask, dec_ids, past = _sample_inputs(model.config, torch.Generator().manual_seed(0))
    batch, enc_len = torch.export.Dim("batch"), torch.export.Dim("encoder_length")
    new_len, past_len = torch.export.Dim("new_length"), torch.export.Dim("past_length")
    encoder, decoder = NeedleEncoderForExport(model), NeedleDecoderForExport(model)
    with torch.no_grad():
        cross, _ = encoder(ids, mask)
        _export_graph(encoder, (ids, mask), out / ENCODER_FILE, ENCODER_INPUTS, ENCODER_OUTPUTS,
                      {"input_ids": {0: batch, 1: enc_len}, "attention_mask": {0: batch, 1: enc_len}}, opset)
        _export_graph(decoder, (dec_ids, mask, cross, past), out / DECODER_FILE, DECODER_INPUTS, DECODER_OUTPUTS,
                      {"decoder_input_ids": {0: batch, 1: new_len}, "encoder_attention_mask": {0: batch, 1: enc_len},
                       "cross_key_values": {2: batch, 4: enc_len}, "past_key_values": {2: batch, 4: past_len}},
                      opset)
    quantization = None
    if int8:
        _quantize_int8(out / ENCODER_FILE)
        _quantize_int8(out / DECODER_FILE)
        quantization = "int8-dynamic-per-channel"

    model.config.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _drop_remote_code(out)

    import onnx
    import onnxruntime

    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "graphs": {"encoder": ENCODER_FILE, "decoder": DECODER_FILE},
                "encoder_inputs": list(ENCODER_INPUTS), "encoder_outputs": list(ENCODER_OUTPUTS),
                "decoder_inputs": list(DECODER_INPUTS), "decoder_outputs": list(DECODER_OUTPUTS),
                "kv_layout": "(decoder_layers, 2 [keys, values], batch, kv_heads, length, head_dim)",
                "quantization": quantization, "source_model": _source_name(source), "check": None,
                "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                             "onnxruntime": onnxruntime.__version__}}
    manifest_path = out / MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    diff, same_tokens = _parity_check(model, out, ids, mask, dec_ids, past)
    if quantization is None and (diff > 1e-3 or not same_tokens):
        manifest_path.unlink()  # not a usable export
        raise RuntimeError(f"the exported graphs disagree with torch (max output difference {diff:.2e}, same greedy "
                           f"tokens: {same_tokens}); please report this with your torch / onnx versions")
    manifest["check"] = {"max_abs_diff": diff, "greedy_tokens_match": same_tokens}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(_card(model.config, _source_name(source), quantization), encoding="utf-8")
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    return OnnxExportResult(out, files, quantization, diff, same_tokens, manifest)


def _source_name(source: str | None) -> str | None:
    """How the manifest and card name the exported model: a Hub id as given, a local folder by its name only (the
    folder is meant to be pushed; this machine's paths mean nothing elsewhere)."""
    if source is None or not Path(source).exists():
        return source
    from needle_hf import DEFAULT_MODEL

    name = Path(source).resolve().name
    if Path(source).resolve() == Path(DEFAULT_MODEL).resolve():
        return f"needle-hf's shipped default model ({name})"
    return name


def _load(source: str):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from .inference import require_local_or_hub_id

    if Path(source).exists() and not Path(source, "config.json").is_file():
        raise ValueError(f"{source} is not a model folder (no config.json); pass a Needle model folder or Hub id")
    if Path(source, MANIFEST).is_file():
        raise ValueError(f"{source} is already an ONNX export; pass the torch model folder it came from")
    if Path(source, "adapter_config.json").is_file():
        raise ValueError(f"{source} is a LoRA adapter: merge it first (`needle-hf merge BASE {source} --out DIR`), "
                         "then export the merged folder")
    require_local_or_hub_id(source, "model folder")
    return AutoModelForSeq2SeqLM.from_pretrained(source), AutoTokenizer.from_pretrained(source)


def _drop_remote_code(out: Path) -> None:
    """The export runs through needle-hf's ONNX runner, not remote code: no .py files, and no auto_map or custom
    pipeline entry in config.json pointing at them."""
    for path in out.glob("*.py"):
        path.unlink()
    config_path = out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    for key in ("auto_map", "custom_pipelines"):
        config.pop(key, None)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _quantize_int8(path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = path.with_suffix(".fp32.onnx")
    path.rename(tmp)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a harmless "consider pre-processing" notice on root
    try:
        quantize_dynamic(str(tmp), str(path), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    tmp.unlink()
    tmp.with_name(tmp.name + ".data").unlink(missing_ok=True)


def _parity_check(model, out: Path, ids, mask, dec_ids, past) -> tuple[float, bool]:
    """Run the exported graphs on the sample inputs and a short greedy decode; compare with torch."""
    import numpy as np

    from .onnx_runner import OnnxNeedleModel

    runner = OnnxNeedleModel(out)
    with torch.no_grad():
        ref_cross, ref_embedding = NeedleEncoderForExport(model)(ids, mask)
        ref_logits, ref_present = NeedleDecoderForExport(model)(dec_ids, mask, ref_cross, past)
        cross = runner.encode(ids.numpy(), mask.numpy())
        embedding = runner.encode_contrastive(ids, mask).numpy()
        logits, present = runner.decode(dec_ids.numpy(), mask.numpy(), cross, past.numpy())
        diff = max(float(np.abs(a - b.numpy()).max()) for a, b in ((cross, ref_cross), (embedding, ref_embedding),
                                                                    (logits, ref_logits), (present, ref_present)))
        expected = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12, do_sample=False,
                                  num_beams=1)
        got = runner.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12)
    return diff, bool(got.shape == expected.shape and torch.equal(got, expected))


def _card(config, source: str | None, quantization: str | None) -> str:
    what = "INT8 weights (ONNX Runtime dynamic quantization, per channel)" if quantization else "fp32"
    return "\n".join([
        "---", "library_name: onnx", "pipeline_tag: text2text-generation",
        "tags: [needle, tool-calling, function-calling, onnx]", "---", "",
        f"# Needle (ONNX, {what})", "",
        f"ONNX export of {source or 'a Needle model'} made with `needle-hf export`: d_model {config.d_model}, "
        f"{config.encoder_layers} encoder + {config.decoder_layers} decoder layers, vocab {config.vocab_size}.", "",
        "```bash", "needle-hf run --model THIS_FOLDER --query \"What's the weather in Paris?\" --tools @tools.json",
        "```", "(`tools.json`: your tools as a JSON list, e.g. needle-hf's `examples/tools.json`.)", "",
        "In Python: `needle_hf.inference.load_pipeline(\"THIS_FOLDER\")` gives the usual tool-calling pipeline "
        "(constrained decoding included) running on ONNX Runtime. The graphs' inputs and outputs are listed in "
        f"`{MANIFEST}`.", ""])

