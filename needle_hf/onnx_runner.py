"""Run an ONNX export (`needle-hf export`) with ONNX Runtime behind the usual tool-calling pipeline.

`OnnxNeedleModel` has the slice of the transformers model interface that `ToolCallingPipeline` and the eval runner
use (`config`, `generation_config`, `generate`, `device`, `eval`/`train`), so grammar-constrained decoding, copy
mode, the no-call bias, name restoring and validation are the pipeline's own. `generate` is greedy search with the
KV cache fed back between steps; it returns what transformers' greedy `generate()` returns for the same weights
(the decoder start token, the answer, pad after EOS).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .onnx_export import DECODER_FILE, ENCODER_FILE, FORMAT, FORMAT_VERSION, MANIFEST


def is_onnx_export(path: str | os.PathLike) -> bool:
    return Path(path, MANIFEST).is_file()


def onnx_export_problems(folder: str | os.PathLike) -> list[str]:
    """What an export folder lacks (empty when it is complete): used before pushing it to the Hub."""
    folder = Path(folder)
    try:
        _read_manifest(folder)
    except (FileNotFoundError, ValueError) as err:
        return [str(err)]
    return [f"no {name}" for name in ("config.json", "tokenizer.json", "README.md") if not (folder / name).is_file()]


def resolve_onnx_export(model: str | os.PathLike) -> Path | None:
    """The local folder of an ONNX export given as a folder or a Hub repo id (downloaded into the HF cache),
    or None when `model` is not an export."""
    if Path(model).exists():
        return Path(model) if is_onnx_export(model) else None
    from huggingface_hub import hf_hub_download, snapshot_download

    try:
        hf_hub_download(os.fspath(model), MANIFEST)
    except Exception:  # noqa: BLE001  no manifest, not a repo id, offline, no access: the torch loader says which
        return None
    return Path(snapshot_download(os.fspath(model)))


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not an ONNX export (no {MANIFEST}); make one with `needle-hf export "
                                "--model MODEL --out DIR`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON (line {err.lineno}: {err.msg}); export the model again") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format {manifest.get('format')!r} version {manifest.get('format_version')!r} is "
                         f"not {FORMAT!r} version {FORMAT_VERSION} (this package's); export the model again")
    for key in ("encoder", "decoder"):
        name = manifest.get("graphs", {}).get(key)
        if not name or not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: the {key} graph {name or '(unnamed)'} named in {MANIFEST} is missing; "
                                    "export the model again")
    return manifest


class OnnxNeedleModel:
    """A Needle ONNX export loaded into two ONNX Runtime sessions.

    Args:
        folder: the export folder (encoder.onnx, decoder.onnx, config.json, tokenizer, needle_onnx.json).
        threads: intra-op threads per session (None: ONNX Runtime's default, all cores).
        providers: ONNX Runtime execution providers (None: CPU).
    """

    training = False
    device = torch.device("cpu")  # inputs and outputs are CPU tensors whatever the execution provider
    hf_device_map = None

    def __init__(self, folder: str | os.PathLike, threads: int | None = None, providers: list | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError("running an ONNX export needs onnxruntime: pip install 'needle-hf[onnx]'") from None
        from transformers import AutoConfig, GenerationConfig

        self.folder = Path(folder)
        self.manifest = _read_manifest(self.folder)
        self.config = AutoConfig.from_pretrained(self.folder)
        self.generation_config = GenerationConfig.from_pretrained(self.folder)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = providers or ["CPUExecutionProvider"]
        graphs = self.manifest["graphs"]
        self.encoder = ort.InferenceSession(str(self.folder / graphs.get("encoder", ENCODER_FILE)), options,
                                            providers=providers)
        self.decoder = ort.InferenceSession(str(self.folder / graphs.get("decoder", DECODER_FILE)), options,
                                            providers=providers)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, **kwargs) -> "OnnxNeedleModel":
        return cls(folder, **kwargs)

    # -- the pieces of the transformers model interface the pipeline touches --------------------------------------
    def can_generate(self) -> bool:
        return False  # the pipeline calls generate() itself; this keeps Pipeline.__init__ off generation setup

    def to(self, device):
        if torch.device(device).type != "cpu":
            raise ValueError("an ONNX export runs on ONNX Runtime: choose its execution provider with "
                             "OnnxNeedleModel(folder, providers=[...]) instead of device=")
        return self

    def eval(self):
        return self

    def train(self, mode: bool = True):
        if mode:
            raise ValueError("an ONNX export cannot be trained; train the torch model it was exported from")
        return self

    # -- the graphs ------------------------------------------------------------------------------------------------
    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.encoder.run(["cross_key_values"], {"input_ids": input_ids.astype(np.int64),
                                                       "attention_mask": attention_mask.astype(np.int64)})[0]

    def encode_contrastive(self, input_ids, attention_mask=None) -> torch.Tensor:
        """Unit-norm retrieval embeddings (B, contrastive_dim), as the torch model's (`retrieve_tools`,
        `top_k_tools`)."""
        if "retrieval_embedding" not in {o.name for o in self.encoder.get_outputs()}:
            raise ValueError(f"{self.folder} was exported without the retrieval head (an older needle-hf): export "
                             "the model again to rank tools (top_k_tools) on ONNX Runtime")
        ids = torch.as_tensor(input_ids).cpu().numpy()
        mask = (torch.as_tensor(attention_mask).cpu().numpy() if attention_mask is not None
                else (ids != self.config.pad_token_id).astype(np.int64))
        out = self.encoder.run(["retrieval_embedding"], {"input_ids": ids.astype(np.int64),
                                                         "attention_mask": mask.astype(np.int64)})[0]
        return torch.from_numpy(out)

    def decode(self, decoder_input_ids: np.ndarray, encoder_attention_mask: np.ndarray, cross_key_values: np.ndarray,
               past_key_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, present = self.decoder.run(None, {"decoder_input_ids": decoder_input_ids.astype(np.int64),
                                                  "encoder_attention_mask": encoder_attention_mask.astype(np.int64),
                                                  "cross_key_values": cross_key_values,
                                                  "past_key_values": past_key_values})
        return logits, present

    def empty_past(self, batch: int) -> np.ndarray:
        c = self.config
        return np.zeros((c.decoder_layers, 2, batch, c.num_key_value_heads, 0, c.head_dim), dtype=np.float32)

    def generate(self, input_ids, attention_mask=None, max_new_tokens: int | None = None, logits_processor=None,
                 streamer=None, do_sample: bool = False, num_beams: int = 1, num_return_sequences: int = 1,
                 **kwargs) -> torch.LongTensor:
        """Greedy decoding: (B, T) encoder ids -> (B, 1 + n) tokens starting with the decoder start token."""
        if do_sample or num_beams != 1 or num_return_sequences != 1:
            raise ValueError("an ONNX export decodes greedily: drop do_sample / num_beams / num_return_sequences "
                             "(or use the torch model for sampling and beam search)")
        unknown = sorted(k for k, v in kwargs.items() if v is not None and k not in ("pad_token_id", "eos_token_id",
                                                                                      "decoder_start_token_id"))
        if unknown:
            raise ValueError(f"unsupported generate() options for an ONNX export: {', '.join(unknown)}")
        gen, config = self.generation_config, self.config
        start = _first_set(kwargs.get("decoder_start_token_id"), gen.decoder_start_token_id,
                           config.decoder_start_token_id)
        eos = _first_set(kwargs.get("eos_token_id"), gen.eos_token_id, config.eos_token_id)
        eos_ids = torch.tensor(sorted(set(eos if isinstance(eos, (list, tuple)) else [eos])))
        pad = _first_set(kwargs.get("pad_token_id"), gen.pad_token_id, config.pad_token_id)
        budget = _first_set(max_new_tokens, gen.max_new_tokens, 256)
        ids = torch.as_tensor(input_ids).cpu().numpy()
        mask = (torch.as_tensor(attention_mask).cpu().numpy() if attention_mask is not None
                else (ids != self.config.pad_token_id).astype(np.int64))
        batch = ids.shape[0]
        cross = self.encode(ids, mask)
        past = self.empty_past(batch)
        sequences = torch.full((batch, 1), start, dtype=torch.long)
        finished = torch.zeros(batch, dtype=torch.bool)
        if streamer is not None:
            streamer.put(sequences)
        step_ids = sequences.numpy()
        for _ in range(budget):
            logits, past = self.decode(step_ids, mask, cross, past)
            scores = torch.from_numpy(np.ascontiguousarray(logits[:, -1, :]))
            for processor in logits_processor or []:
                scores = processor(sequences, scores)
            next_tokens = scores.argmax(-1)
            next_tokens = torch.where(finished, torch.full_like(next_tokens, pad), next_tokens)
            sequences = torch.cat([sequences, next_tokens[:, None]], dim=1)
            if streamer is not None:
                streamer.put(next_tokens.cpu())
            finished |= torch.isin(next_tokens, eos_ids)
            if bool(finished.all()):
                break
            step_ids = next_tokens[:, None].numpy()
        if streamer is not None:
            streamer.end()
        return sequences


def _first_set(*values):
    return next(v for v in values if v is not None)


def load_onnx_pipeline(folder: str | os.PathLike, threads: int | None = None, providers: list | None = None,
                       **kwargs):
    """The tool-calling pipeline over an ONNX export (same arguments and outputs as the torch one; greedy only).
    `kwargs` are the pipeline's defaults, as for `pipeline("tool-calling", ...)` (`constrained=`, `copy_strings=`,
    `max_new_tokens=`, `batch_size=`, ...)."""
    from transformers import AutoTokenizer

    from .modeling.pipeline_tool_calling import ToolCallingPipeline

    model = OnnxNeedleModel(folder, threads=threads, providers=providers)
    return ToolCallingPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(folder), device=-1, **kwargs)
