"""LoRA adapters per tool set: finetune one on your own tools, load it, route requests between several, merge.

One base Needle model, one small PEFT LoRA adapter per product / tool set, chosen per request:

* :func:`finetune_lora` (CLI ``needle-hf finetune data.jsonl --lora``): the reference per-tool splits (spec §7.1:
  10 validation + 10 test rows per primary tool), a base-model evaluation on the test split, LoRA training of the
  attention projections (``q_proj/k_proj/v_proj/o_proj`` of encoder self-, decoder self- and cross-attention, task
  ``SEQ_2_SEQ_LM``), the adapter with the best validation call F1 (evaluated at every epoch end, generation with the
  grammar like at inference), the finetuned evaluation on the same test split, and a standard adapter folder::

      adapter_config.json  adapter_model.safetensors   (peft's own format: PeftModel.from_pretrained reads it)
      tools.json           the tool set the adapter was trained for (a JSON list of tool schemas)
      README.md            model card (library_name: peft, base_model, the tool set, the base-vs-finetuned table)
      finetune_report.json / finetune_report.md        the base-vs-finetuned report

* :func:`load_adapter` / ``load_pipeline(model, adapter=...)``: the base wrapped in a ``PeftModel``; a folder or a
  Hub id; an adapter made for another base (other sizes or layers) is refused with a clear :class:`AdapterError`.
* :class:`AdapterRouter`: several adapters on **one** base (``PeftModel.from_pretrained(adapter_name=...)`` +
  ``load_adapter``); each request goes to the adapter whose ``tools.json`` matches the request's tools by
  :func:`~needle_hf.tools.tools_fingerprint` with tool and parameter order ignored (exact set first, then the
  smallest adapter tool set containing every requested tool); no match -> the base model (``disable_adapter()``)
  and a log line. Switching is ``set_adapter``: no reload. (One router serves one request batch at a time: the
  active adapter is model state, so do not share a router between threads.)
* :func:`merge_adapter` (CLI ``needle-hf merge BASE ADAPTER --out DIR``): ``merge_and_unload`` -> a plain Needle
  model folder (``save_model_folder``: remote code + custom pipeline), loadable without peft.

Training is the training package's: features and collator (:func:`needle_hf.training.features.prepare_rows`,
:class:`~needle_hf.training.collator.NeedleCollator`: online tool shuffling, per-token class weights 1/2/4/1.5) and
``NeedleTrainer`` (weighted loss + z-loss, WSD schedule), see :func:`_train`. LoRA weights are trained with AdamW
(Needle 2's LoRA recipe, spec §7.2; Muon's orthogonalised updates are meant for full matrices, not rank-r factors);
contrastive loss and QAT are off (their parameters are frozen under LoRA). Model selection evaluates the validation
split by generation at every epoch end and keeps a copy of the best LoRA weights in memory (no checkpoints: an
adapter run is minutes; rerun instead of resuming).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

from .tools import parse_tools, tools_fingerprint, tool_to_dict

logger = logging.getLogger(__name__)

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
TOOLS_FILE = "tools.json"
REPORT_FILE = "finetune_report.json"
MIN_EXAMPLES = 3  # the reference refuses fewer (spec §7.1)
REPORT_METRICS = ("call_f1", "name_f1", "exact_match", "json_parse_rate", "argument_accuracy", "value_accuracy",
                  "hallucinated_param_rate", "missing_param_rate", "no_call_precision", "no_call_recall")

__all__ = ["DEFAULT_TARGETS", "TOOLS_FILE", "AdapterError", "LoraFinetuneResult", "lora_config", "parse_targets",
           "finetune_lora", "check_finetune_data", "check_targets", "load_base", "load_adapter", "adapter_tools",
           "check_adapter_compatible", "AdapterRouter", "merge_adapter", "comparison_table", "save_adapter_folder",
           "adapter_card", "tool_dicts", "attach_adapter_to_pipeline", "routing_fingerprint"]


class AdapterError(ValueError):
    """An adapter that cannot be used: not an adapter folder, made for another base model, bad targets."""


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- config
def parse_targets(target: str | Sequence[str] | None) -> list[str]:
    """``"q_proj,k_proj"`` or a list -> module-name suffixes for peft (``cross_attn.q_proj`` picks only cross-attention
    queries). None -> the four attention projections."""
    if target is None:
        return list(DEFAULT_TARGETS)
    items = target.split(",") if isinstance(target, str) else list(target)
    names = [t.strip() for t in items if t and t.strip()]
    if not names:
        raise AdapterError("no LoRA target modules given; use e.g. --target q_proj,k_proj,v_proj,o_proj")
    return names


def lora_config(rank: int = 16, alpha: float = 32, target: str | Sequence[str] | None = None,
                dropout: float = 0.0):
    """The ``peft.LoraConfig`` of a Needle tool-set adapter (task ``SEQ_2_SEQ_LM``)."""
    from peft import LoraConfig, TaskType

    if not isinstance(rank, int) or rank < 1:
        raise AdapterError(f"LoRA rank must be a positive integer, got {rank!r}")
    if not alpha or alpha <= 0:
        raise AdapterError(f"LoRA alpha must be positive, got {alpha!r}")
    return LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=rank, lora_alpha=alpha, lora_dropout=dropout,
                      target_modules=parse_targets(target), bias="none")


def check_targets(model, targets: Sequence[str]) -> None:
    """Every target must name at least one Linear layer of the model (by full name or dotted suffix)."""
    linear = [n for n, m in _unwrap(model).named_modules() if isinstance(m, torch.nn.Linear)]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in linear)]
    if missing:
        kinds = sorted({n.rsplit(".", 1)[-1] for n in linear})
        raise AdapterError(f"LoRA targets {missing} do not match the model's Linear layers ({', '.join(kinds)}; "
                           f"prefix with self_attn. or cross_attn. to choose attention blocks)")


def _wrap_new_adapter(model, config):
    from peft import get_peft_model

    try:
        return get_peft_model(model, config)
    except ValueError as err:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise AdapterError(f"LoRA targets {sorted(config.target_modules)} do not match the model: "
                           f"{str(err).splitlines()[0]} (Linear layers are named {', '.join(linear)}; "
                           f"prefix with self_attn. or cross_attn. to choose attention blocks)") from None


# ---------------------------------------------------------------------------------------------- loading
def load_base(model: Any = None, tokenizer: Any = None, device: str | torch.device | None = None):
    """``(model, tokenizer)`` from a Needle model folder / Hub id (default: the shipped ``DEFAULT_MODEL``), or the
    given model object (then ``tokenizer`` must be given too). The model is put in eval mode."""
    from transformers import AutoModelForSeq2SeqLM

    from . import DEFAULT_MODEL

    if isinstance(tokenizer, (str, os.PathLike)):
        from .tokenization import load_tokenizer

        tokenizer = load_tokenizer(tokenizer)
    if model is not None and not isinstance(model, (str, os.PathLike)):
        if tokenizer is None:
            raise ValueError("pass the tokenizer along with a model object (or give a model folder / Hub id)")
        return (model.to(device) if device else model).eval(), tokenizer
    if model is None:
        if not Path(DEFAULT_MODEL, "config.json").is_file():
            raise FileNotFoundError(f"the default model is not installed at {DEFAULT_MODEL}; pass --model "
                                    "PATH_OR_HUB_ID (model=...)")
        model = DEFAULT_MODEL
    path = os.fspath(model)
    if Path(path).exists() and not Path(path, "config.json").is_file():
        hint = " (it is a LoRA adapter folder: pass its base model)" if Path(path, ADAPTER_CONFIG).is_file() else ""
        raise ValueError(f"{path} is not a model folder (no config.json){hint}")
    try:
        m = AutoModelForSeq2SeqLM.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot load a Needle model from {path!r}: {str(err).splitlines()[0]}") from None
    if getattr(m.config, "model_type", None) != "needle":
        raise ValueError(f"{path} is a {m.config.model_type!r} model, not a Needle model")
    if tokenizer is None:
        from .tokenization import load_tokenizer

        tokenizer = load_tokenizer(path)
    if device:
        m = m.to(device)
    return m.eval(), tokenizer


def _resolve_adapter_dir(adapter: str | os.PathLike, revision: str | None = None, token: str | None = None) -> Path:
    """A local adapter folder, or a Hub repo id downloaded (or taken from the offline cache) with snapshot_download."""
    path = Path(os.fspath(adapter)).expanduser()
    if path.exists():
        if not (path / ADAPTER_CONFIG).is_file():
            hint = " (it is a full model folder: pass it as the model, not as an adapter)" \
                if (path / "config.json").is_file() else ""
            raise AdapterError(f"{path} is not a LoRA adapter folder: no {ADAPTER_CONFIG}{hint}")
        return path
    from huggingface_hub import snapshot_download

    try:
        local = snapshot_download(os.fspath(adapter), revision=revision, token=token)
    except Exception as err:  # noqa: BLE001 - hub raises many types; the user needs the id and the reason
        raise AdapterError(f"adapter {os.fspath(adapter)!r} is neither a local folder nor a downloadable Hub repo: "
                           f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    local = Path(local)
    if not (local / ADAPTER_CONFIG).is_file():
        raise AdapterError(f"Hub repo {os.fspath(adapter)!r} is not a LoRA adapter (no {ADAPTER_CONFIG})")
    return local


def adapter_tools(adapter: str | os.PathLike) -> list | None:
    """The tool set an adapter folder was trained for (``tools.json``, canonical ``Tool`` objects), or None."""
    path = Path(adapter) / TOOLS_FILE
    if not path.is_file():
        return None
    try:
        return parse_tools(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as err:
        raise AdapterError(f"{path}: not a valid tool list ({err})") from None


def _unwrap(model):
    """The plain Needle model inside a PeftModel (or the model itself)."""
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


def check_adapter_compatible(model, adapter_dir: str | os.PathLike) -> None:
    """Raise :class:`AdapterError` naming the first module whose shapes differ when the adapter in ``adapter_dir``
    was trained for another base (different d_model, heads, vocab or layer count)."""
    from safetensors import safe_open

    adapter_dir = Path(adapter_dir)
    cfg = json.loads((adapter_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    trained_on = cfg.get("base_model_name_or_path") or "an unknown base"
    weights = adapter_dir / ADAPTER_WEIGHTS
    if not weights.is_file():
        if (adapter_dir / "adapter_model.bin").is_file():
            raise AdapterError(f"{adapter_dir} holds adapter_model.bin (pickle); needle-hf only loads safetensors "
                               "adapters: re-save it with save_pretrained(safe_serialization=True)")
        raise AdapterError(f"{adapter_dir} has no {ADAPTER_WEIGHTS}")
    base = _unwrap(model)
    modules = dict(base.named_modules())
    with safe_open(str(weights), framework="pt") as f:
        for key in f.keys():
            shape = tuple(f.get_slice(key).get_shape())
            for part, dim in ((".lora_A.", 1), (".lora_B.", 0)):
                if part not in key:
                    continue
                name = key.split(part)[0]
                name = name[len("base_model.model."):] if name.startswith("base_model.model.") else name
                module = modules.get(name)
                if module is None:
                    raise AdapterError(
                        f"adapter {adapter_dir} does not fit this base model: it has weights for {name}, which the "
                        f"base does not have (trained for {trained_on}; this base has "
                        f"{base.config.encoder_layers}+{base.config.decoder_layers} layers)")
                layer = getattr(module, "base_layer", module)
                want = layer.in_features if dim == 1 else layer.out_features
                if shape[dim] != want:
                    side = "input" if dim == 1 else "output"
                    raise AdapterError(
                        f"adapter {adapter_dir} does not fit this base model: {name} has {side} size {want} "
                        f"(d_model {base.config.d_model}) but the adapter's {key.split('.')[-2]} expects "
                        f"{shape[dim]}; it was trained for {trained_on}. Use the base model it was trained on.")


def load_adapter(model, adapter: str | os.PathLike, adapter_name: str = "default", revision: str | None = None,
                 token: str | None = None):
    """Wrap ``model`` (a Needle model, or a ``PeftModel`` that already holds adapters) with the LoRA adapter from a
    folder or Hub id. Returns the ``PeftModel`` (in eval mode) with ``adapter_name`` active."""
    from peft import PeftModel

    adapter_dir = _resolve_adapter_dir(adapter, revision=revision, token=token)
    check_adapter_compatible(model, adapter_dir)
    try:
        if isinstance(model, PeftModel):
            model.load_adapter(str(adapter_dir), adapter_name=adapter_name, is_trainable=False)
            model.set_adapter(adapter_name)
            peft_model = model
        else:
            peft_model = PeftModel.from_pretrained(model, str(adapter_dir), adapter_name=adapter_name,
                                                   is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as err:
        raise AdapterError(f"cannot load adapter {os.fspath(adapter)!r}: {str(err).splitlines()[0]}") from None
    return peft_model.eval()


def attach_adapter_to_pipeline(pipe, adapter: str | os.PathLike, adapter_name: str = "default", **kwargs):
    """Replace ``pipe.model`` by the base wrapped with ``adapter`` (used by ``load_pipeline(adapter=...)``)."""
    pipe.model = load_adapter(pipe.model, adapter, adapter_name=adapter_name, **kwargs)
    return pipe


# ---------------------------------------------------------------------------------------------- training
def _train(model, tokenizer, train_rows: Sequence[dict], *, epochs: int, learning_rate: float, batch_size: int,
           seed: int, weight_decay: float = 0.0, warmup: float = 0.05, class_weights: Sequence[float] | None = None,
           on_epoch_end: Callable[[int, float], None] | None = None, progress: bool = True,
           shuffle_tools: bool = True, use_muon: bool = False, muon_lr: float = 0.02, **training_kwargs) -> list[float]:
    """Train the parameters of ``model`` that require grad on ``train_rows`` with ``NeedleTrainer`` (the training
    package's weighted token loss + z-loss, WSD schedule, clip 1.0) over its features and collator (online tool
    shuffling). Returns the mean training loss of every epoch.

    For a ``PeftModel`` only the LoRA weights train; no checkpoints are written (model selection is done in memory by
    ``on_epoch_end(epoch, mean_loss)``, called at every epoch end with the model in eval mode). The contrastive loss
    and INT4 QAT are off (the contrastive head and the base weights are frozen under LoRA). ``use_muon=False``:
    AdamW for everything (LoRA factors are low-rank; Muon's orthogonalised updates are meant for full matrices).
    """
    import tempfile

    from transformers import TrainerCallback, set_seed

    from .training.collator import NeedleCollator
    from .training.features import DEFAULT_CLASS_WEIGHTS, prepare_rows
    from .training.trainer import NeedleTrainer, NeedleTrainingArguments

    base = _unwrap(model)
    cfg = base.config
    ensure_ascii = bool(getattr(cfg, "ensure_ascii_json", False))
    max_enc = int(getattr(cfg, "max_encoder_length", 1024))
    prepared = prepare_rows(train_rows, tokenizer, max_decoder_length=int(getattr(cfg, "max_decoder_length", 512)),
                            max_encoder_length=max_enc, ensure_ascii=ensure_ascii, name="train", validate=False)
    collator = NeedleCollator(tokenizer, max_encoder_length=max_enc, shuffle_tools=shuffle_tools, contrastive=False,
                              seed=seed, ensure_ascii=ensure_ascii)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("nothing to train: no parameter requires grad")
    set_seed(seed)
    losses: list[float] = []

    class _EpochEnd(TrainerCallback):
        def __init__(self):
            self.last_step, self.last_loss = 0, 0.0

        def on_epoch_end(self, args, state, control, **kwargs):
            logged = [h["loss"] for h in state.log_history if "loss" in h and h.get("step", 0) > self.last_step]
            losses.append(float(sum(logged) / len(logged)) if logged else float("nan"))
            self.last_step = state.global_step
            if on_epoch_end is not None:
                was_training = model.training
                model.eval()
                on_epoch_end(len(losses) - 1, losses[-1])
                model.train(was_training)

    with tempfile.TemporaryDirectory(prefix="needle-lora-") as tmp:
        args = NeedleTrainingArguments(
            output_dir=tmp, num_train_epochs=float(epochs), per_device_train_batch_size=int(batch_size),
            learning_rate=float(learning_rate), weight_decay=float(weight_decay), warmup_steps=float(warmup),
            decay_ratio=0.5, lr_scheduler_type="wsd", use_muon=bool(use_muon), muon_lr=float(muon_lr),
            class_weights=tuple(class_weights or DEFAULT_CLASS_WEIGHTS), contrastive_every=0, qat_every=0,
            eval_quant_bits=0, save_strategy="no", eval_strategy="no", report_to="none",
            logging_steps=max(1, -(-len(prepared.dataset) // int(batch_size))),  # one loss line per epoch
            disable_tqdm=not progress, seed=int(seed), data_seed=int(seed), max_grad_norm=1.0,
            **training_kwargs)
        trainer = NeedleTrainer(model=model, args=args, train_dataset=prepared.dataset, data_collator=collator,
                                processing_class=tokenizer, callbacks=[_EpochEnd()])
        if not progress:
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        if trainer._needle is not base:
            # training/trainer.py `_needle_module` takes the first module with encode_contrastive + lm_head, which
            # for a PeftModel is the wrapper itself (attribute forwarding); its logging then reads
            # `.model.log_temp` from the wrong object. Point it at the Needle model (contrastive is off here).
            trainer._needle = base
        trainer.train()
    model.eval()
    return losses


# ---------------------------------------------------------------------------------------------- finetune
@dataclass
class LoraFinetuneResult:
    """What :func:`finetune_lora` did: the adapter folder, both evaluations on the test split, the model selection."""

    adapter_dir: Path
    base_report: dict
    finetuned_report: dict
    splits: dict[str, int]
    tools: list[dict]
    best_epoch: int
    best_val_call_f1: float
    history: list[dict] = field(default_factory=list)  # per epoch: {"epoch", "loss", "val_call_f1", ...}
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    commit_url: str | None = None

    @property
    def base_metrics(self) -> dict:
        return self.base_report["metrics"]

    @property
    def finetuned_metrics(self) -> dict:
        return self.finetuned_report["metrics"]

    def table(self) -> str:
        return comparison_table(self.base_report, self.finetuned_report)

    def to_dict(self) -> dict:
        return {"adapter_dir": str(self.adapter_dir), "splits": self.splits, "settings": self.settings,
                "tools_fingerprint": tools_fingerprint(self.tools) if self.tools else None,
                "best_epoch": self.best_epoch, "best_val_call_f1": self.best_val_call_f1, "history": self.history,
                "seconds": round(self.seconds, 1), "warnings": self.warnings,
                "base": self.base_report, "finetuned": self.finetuned_report}


def comparison_table(base_report: dict, finetuned_report: dict, keys: Iterable[str] = REPORT_METRICS) -> str:
    """Markdown table: one row per metric, base vs finetuned and the change, on the same rows."""
    b, f = base_report["metrics"], finetuned_report["metrics"]
    lines = [f"| metric (test split, n={finetuned_report.get('n', '?')}) | base | finetuned | change |",
             "|---|---|---|---|"]
    for k in keys:
        if k in b or k in f:
            vb, vf = float(b.get(k, 0.0)), float(f.get(k, 0.0))
            lines.append(f"| {k} | {vb:.3f} | {vf:.3f} | {vf - vb:+.3f} |")
    return "\n".join(lines)


def routing_fingerprint(tools: Any) -> str:
    """:func:`~needle_hf.tools.tools_fingerprint` of the canonical tools with each tool's parameters sorted by name:
    the same tool set whatever the tool *and* parameter order (generators and clients shuffle both)."""
    return tools_fingerprint([dataclasses.replace(t, parameters=sorted(t.parameters, key=lambda p: p.name))
                              for t in parse_tools(tools)])


def tool_dicts(tools: Any) -> list[dict]:
    """Tools in any accepted format -> flat Needle schemas keeping the original names (what tools.json holds)."""
    out = []
    for t in parse_tools(tools):
        d = tool_to_dict(t)
        d["name"] = t.name  # original name (restored in calls); the fingerprint snake-cases it again
        out.append(d)
    return out


def _tool_set(rows: Sequence[dict]) -> tuple[list[dict], list[str]]:
    """The union of the tools offered in ``rows`` (first schema seen per snake name, original names kept) and
    warnings for names offered with different schemas."""
    seen: dict[str, tuple[dict, str]] = {}
    conflicts: list[str] = []
    for row in rows:
        for t in parse_tools(row["tools"]):
            d = tool_dicts([t])[0]
            fp = routing_fingerprint([t])
            if t.snake_name not in seen:
                seen[t.snake_name] = (d, fp)
            elif seen[t.snake_name][1] != fp and t.snake_name not in conflicts:
                conflicts.append(t.snake_name)
    warns = [f"tool {name!r} is offered with different schemas in the data; tools.json keeps the first one"
             for name in conflicts]
    return [d for d, _ in seen.values()], warns


def _load_finetune_rows(data) -> list[dict]:
    from .data.io import load_rows

    return list(load_rows(data, strict=True))  # invalid rows raise, naming file:line and the problem


def check_finetune_data(rows: Sequence[dict], min_examples: int = MIN_EXAMPLES,
                        min_per_tool: int = 120) -> list[str]:
    """Refuse too little data (ValueError with the counts); return warnings for tools under ``min_per_tool``."""
    from .data.io import NO_TOOL
    from .data.splits import primary_counts

    counts = primary_counts(rows)
    shown = ", ".join(f"{'no call' if k == NO_TOOL else k}: {v}"
                      for k, v in sorted(counts.items(), key=lambda kv: kv[1])) or "none"
    if len(rows) < min_examples:
        raise ValueError(f"too little data to finetune: {len(rows)} valid example(s) (need at least {min_examples}; "
                         f"examples per tool: {shown}). Generate more with `needle-hf generate-data --tools ...`")
    under = {k: v for k, v in counts.items() if v < min_per_tool and k != NO_TOOL}
    if not under:
        return []
    listed = ", ".join(f"{k}: {v}" for k, v in sorted(under.items(), key=lambda kv: kv[1]))
    return [f"{len(under)} tool(s) have fewer than {min_per_tool} examples ({listed}); 10 go to validation and 10 "
            f"to test per tool, so results will be noisy: generate more data for them"]


def save_adapter_folder(peft_model, out_dir: str | os.PathLike, tools: Any = None,
                        card: str | None = None, base_model_id: str | None = None) -> Path:
    """``save_pretrained`` (adapter_config.json + adapter_model.safetensors) + ``tools.json`` + ``README.md``.

    ``base_model_id`` (a Hub id) replaces ``base_model_name_or_path`` in adapter_config.json, so that
    ``AutoModelForSeq2SeqLM.from_pretrained(adapter)`` / ``pipeline(model=adapter)`` find the base elsewhere."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = getattr(peft_model, "active_adapter", "default")
    if isinstance(name, (list, tuple)):
        name = name[0]
    if name != "default":
        raise AdapterError("save_adapter_folder saves the 'default' adapter; use PeftModel.save_pretrained for others")
    peft_model.save_pretrained(str(out), safe_serialization=True)
    cfg_path = out / ADAPTER_CONFIG
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if base_model_id:
        cfg["base_model_name_or_path"] = base_model_id
        cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if tools is not None:
        text = json.dumps(tool_dicts(tools), indent=2, ensure_ascii=False) + "\n"
        (out / TOOLS_FILE).write_text(text, encoding="utf-8")
    if card is not None:
        (out / "README.md").write_text(str(card), encoding="utf-8")
    return out


def adapter_card(name: str, base_model: str | None, tools: Any, settings: dict, table: str | None = None,
                 splits: dict | None = None) -> str:
    """Model card of a tool-set adapter (YAML metadata for the Hub + usage + tools + evaluation)."""
    from huggingface_hub import ModelCardData

    tools = tool_dicts(tools)
    hub_base = base_model if base_model and not Path(base_model).exists() and "/" in base_model else None
    data = ModelCardData(library_name="peft", base_model=hub_base, pipeline_tag="text2text-generation",
                         tags=["needle", "tool-calling", "function-calling", "lora", "peft"], license="mit")
    names = ", ".join(f"`{t['name']}`" for t in tools)
    base_ref = base_model or "BASE"
    parts = [
        f"# {name}",
        f"A LoRA adapter for the Needle tool-calling model `{base_ref}`, trained for one tool set: {names}.",
        "## Usage",
        "```python\nimport json\nfrom needle_hf.inference import load_pipeline\n"
        f"pipe = load_pipeline(\"{base_ref}\", adapter=\"{name}\")\n"
        "pipe(\"...\", tools=json.load(open(\"tools.json\")))\n\n"
        "# several adapters on one base, chosen per request by tool set\n"
        "from needle_hf.lora import AdapterRouter\n"
        f"router = AdapterRouter(\"{base_ref}\").add(\"{name}\", \"{name}\")\n"
        "router(\"...\", tools=tools)\n```",
        "## Tools (`tools.json`)",
        "\n".join(f"- `{t['name']}`: {t.get('description', '')}" for t in tools),
        "## Training",
        ", ".join(f"{k} {v}" for k, v in settings.items()) + (
            f"; rows: " + ", ".join(f"{k} {v}" for k, v in splits.items()) if splits else ""),
    ]
    if table:
        parts += ["## Evaluation (test split, same rows for both)", table]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(parts) + "\n"


def finetune_lora(data, model: Any = None, out_dir: str | os.PathLike = "needle-lora", *, tokenizer: Any = None,
                  rank: int = 16, alpha: float = 32, target: str | Sequence[str] | None = None, dropout: float = 0.0,
                  epochs: int = 3, learning_rate: float = 1e-3, batch_size: int = 16, weight_decay: float = 0.0,
                  seed: int = 42, val_per_tool: int = 10, test_per_tool: int = 10, min_examples: int = MIN_EXAMPLES,
                  min_per_tool: int = 120, constrained: bool = True, copy_strings: bool | None = None,
                  eval_batch_size: int = 16,
                  max_new_tokens: int = 256, base_model_id: str | None = None, push_to_hub: str | bool | None = None,
                  private: bool | None = None, token: str | None = None, progress: bool = True,
                  device: str | None = None) -> LoraFinetuneResult:
    """Finetune a LoRA adapter for the tools in ``data`` and write the adapter folder ``out_dir``.

    Args:
        data: JSONL path(s) or rows ``{query, tools, answers}`` (validated; an invalid row raises naming it).
        model: base model folder / Hub id / model object (default: the shipped ``needle_hf.DEFAULT_MODEL``); a
            model object is wrapped in place (pass a copy to keep it untouched).
        tokenizer: a tokenizer object or folder / Hub id (default: the model's).
        rank, alpha, target, dropout: LoRA settings (scale alpha/rank; targets are module-name suffixes).
        epochs, learning_rate, batch_size, weight_decay, seed: training (NeedleTrainer with AdamW on the LoRA
            weights; WSD schedule: 5% warmup, constant, cosine decay over the last half). ``seed`` also seeds the
            per-tool split (the reference uses 42).
        val_per_tool, test_per_tool: the reference per-tool split (spec §7.1).
        min_examples: refuse fewer rows; min_per_tool: warn for tools with fewer examples.
        constrained, copy_strings: decoding of the base / validation / finetuned evaluations (copy_strings None:
            the base's ``config.copy_strings``). An adapter has no config of its own: at inference the base's
            setting applies unless the pipeline call passes ``copy_strings=``.
        base_model_id: Hub id of the base written into adapter_config.json (default: the base's name_or_path).
        push_to_hub: a repo id (or True: ``<your account>/<out_dir name>``): upload the adapter folder there when
            done (``needle_hf.hub.push_adapter``); the token is checked before any work.

    Returns a :class:`LoraFinetuneResult`; ``result.table()`` is the base-vs-finetuned markdown table.
    """
    from .data.splits import per_tool_split
    from .evaluation.runner import evaluate_rows

    started = time.time()
    log = _stderr if progress else (lambda msg: logger.info(msg))
    if push_to_hub:  # fail before training, not after
        from .hub import check_repo_id, hub_endpoint, resolve_token

        hub_token = resolve_token(token)
        if push_to_hub is True:  # the out_dir name under the logged-in account
            from huggingface_hub import HfApi

            user = HfApi(endpoint=hub_endpoint(), token=hub_token).whoami()["name"]
            push_to_hub = f"{user}/{Path(out_dir).name}"
        check_repo_id(push_to_hub)
    rows = _load_finetune_rows(data)
    warnings = check_finetune_data(rows, min_examples=min_examples, min_per_tool=min_per_tool)
    for w in warnings:
        log(f"warning: {w}")
    train_rows, val_rows, test_rows = per_tool_split(rows, val=val_per_tool, test=test_per_tool, seed=seed)
    splits = {"train": len(train_rows), "validation": len(val_rows), "test": len(test_rows)}
    log(f"data: {len(rows)} rows -> train {splits['train']}, validation {splits['validation']}, test {splits['test']}")
    tools, tool_warnings = _tool_set(rows)
    warnings += tool_warnings
    config = lora_config(rank=rank, alpha=alpha, target=target, dropout=dropout)
    base, tokenizer = load_base(model, tokenizer, device=device)
    check_targets(base, sorted(config.target_modules))
    base_name = base_model_id or getattr(base, "name_or_path", None) or (os.fspath(model) if model else None)
    if push_to_hub and base_name and Path(base_name).exists() and not base_model_id:
        msg = (f"adapter_config.json will name the local base {base_name}; others cannot resolve it from the Hub. "
               "Pass base_model_id= (CLI: --base-model-id) with the base's Hub id")
        log(f"warning: {msg}")
        warnings.append(msg)
    eval_kwargs = dict(constrained=constrained, copy_strings=copy_strings, batch_size=eval_batch_size,
                       max_new_tokens=max_new_tokens, progress=False)

    log(f"evaluating the base model on the test split ({len(test_rows)} rows)")
    base_report = evaluate_rows(base, tokenizer, test_rows, **eval_kwargs)
    log(f"base: call_f1 {base_report['metrics'].get('call_f1', 0):.3f}")

    torch.manual_seed(seed)
    peft_model = _wrap_new_adapter(base, config)
    n_train = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in peft_model.parameters())
    log(f"LoRA rank {rank}, alpha {alpha}, targets {','.join(config.target_modules)}: {n_train:,} trainable "
        f"parameters ({100 * n_train / max(n_all, 1):.2f}% of {n_all:,})")

    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    best = {"f1": -1.0, "epoch": -1, "state": None}
    history: list[dict] = []

    def on_epoch_end(epoch: int, loss: float) -> None:
        report = evaluate_rows(peft_model, tokenizer, val_rows, **eval_kwargs) if val_rows else {"metrics": {}}
        f1 = float(report["metrics"].get("call_f1", 0.0))
        history.append({"epoch": epoch + 1, "loss": round(loss, 4), "val_call_f1": f1,
                        "val_exact_match": report["metrics"].get("exact_match")})
        # no validation rows (cannot happen with >= 3 rows): the last epoch wins
        better = f1 > best["f1"] or not val_rows
        if better:  # strictly better, like the reference's best checkpoint (spec §6.1)
            best.update(f1=f1, epoch=epoch + 1,
                        state={k: v.detach().clone() for k, v in get_peft_model_state_dict(peft_model).items()})
        log(f"epoch {epoch + 1}/{epochs}: loss {loss:.4f}, validation call_f1 {f1:.3f}"
            + (" (best so far)" if better else ""))

    _train(peft_model, tokenizer, train_rows, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
           seed=seed, weight_decay=weight_decay, on_epoch_end=on_epoch_end, progress=progress)
    if best["state"] is not None:
        set_peft_model_state_dict(peft_model, best["state"])
    peft_model.eval()

    log(f"evaluating the finetuned model (epoch {best['epoch']}) on the test split")
    finetuned_report = evaluate_rows(peft_model, tokenizer, test_rows, **eval_kwargs)
    settings = {"rank": rank, "alpha": alpha, "targets": ",".join(config.target_modules), "dropout": dropout,
                "epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "seed": seed,
                "best_epoch": best["epoch"], "constrained": finetuned_report["constrained"],
                "copy_strings": finetuned_report["copy_strings"]}
    result = LoraFinetuneResult(adapter_dir=Path(out_dir), base_report=base_report, finetuned_report=finetuned_report,
                                splits=splits, tools=tools, best_epoch=best["epoch"],
                                best_val_call_f1=best["f1"], history=history, settings=settings, warnings=warnings)
    card = adapter_card(Path(out_dir).name if not push_to_hub else push_to_hub, base_name, tools, settings,
                        table=result.table(), splits=splits)
    save_adapter_folder(peft_model, out_dir, tools=tools, card=card, base_model_id=base_model_id)
    result.seconds = time.time() - started
    _write_report(result)
    log(f"saved the adapter to {out_dir}")
    if push_to_hub:
        from .hub import push_adapter

        info = push_adapter(out_dir, push_to_hub, private=private, token=token)  # base id already written
        result.commit_url = getattr(info, "commit_url", None)
        log(f"pushed to {push_to_hub}" + (f" ({result.commit_url})" if result.commit_url else ""))
    return result


def _write_report(result: LoraFinetuneResult) -> None:
    out = Path(result.adapter_dir)
    (out / REPORT_FILE).write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    lines = ["# LoRA finetune report", "",
             f"Rows: train {result.splits['train']}, validation {result.splits['validation']}, test "
             f"{result.splits['test']}; best epoch {result.best_epoch} (validation call F1 "
             f"{result.best_val_call_f1:.3f}); {result.seconds:.0f} s.", "", result.table(), "",
             "| epoch | loss | validation call_f1 |", "|---|---|---|"]
    lines += [f"| {h['epoch']} | {h['loss']:.4f} | {h['val_call_f1']:.3f} |" for h in result.history]
    lines += ["", "Settings: " + ", ".join(f"{k} {v}" for k, v in result.settings.items())]
    if result.warnings:
        lines += ["", "Warnings:"] + [f"- {w}" for w in result.warnings]
    (out / REPORT_FILE).with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- routing
class AdapterRouter:
    """Several tool-set adapters on one base model; each request uses the adapter made for its tools.

    >>> router = AdapterRouter("Org/needle")                  # or a folder, or (model, tokenizer=...)
    >>> router.add("home", "adapters/home").add("media", "Org/needle-media-lora")
    >>> router("turn on the kitchen lights", tools=home_tools)  # -> calls from the "home" adapter

    Matching (:meth:`select`, :func:`routing_fingerprint`: tools_fingerprint with tool and parameter order ignored):
    the adapter whose ``tools.json`` fingerprint equals the request's tool set; else, with
    ``match="subset"`` (default), the smallest adapter tool set that contains every requested tool (same schema);
    else the base model (logged). ``adapter=`` on a call forces a name (``False``: the base model).
    """

    def __init__(self, base: Any = None, tokenizer: Any = None, adapters: dict[str, Any] | None = None,
                 match: str = "subset", device: str | None = None):
        if match not in ("exact", "subset"):
            raise ValueError(f"match must be 'exact' or 'subset', got {match!r}")
        self.match = match
        self.model, self.tokenizer = load_base(base, tokenizer, device=device)
        self._tool_sets: dict[str, tuple[str, frozenset[str]]] = {}  # name -> (set fingerprint, tool fingerprints)
        self._sources: dict[str, str] = {}
        self._pipe = None
        for name, adapter in (adapters or {}).items():
            self.add(name, adapter)

    @property
    def names(self) -> list[str]:
        return list(self._tool_sets)

    def add(self, name: str, adapter: str | os.PathLike, tools: Any = None, revision: str | None = None,
            token: str | None = None) -> "AdapterRouter":
        """Load ``adapter`` (folder or Hub id) under ``name``; its tool set is ``tools`` or its ``tools.json``."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"adapter name must be a non-empty string, got {name!r}")
        if name in self._tool_sets:
            raise ValueError(f"an adapter named {name!r} is already loaded ({self._sources[name]})")
        adapter_dir = _resolve_adapter_dir(adapter, revision=revision, token=token)
        tool_list = parse_tools(tools) if tools is not None else adapter_tools(adapter_dir)
        if not tool_list:
            raise AdapterError(f"adapter {os.fspath(adapter)!r} has no {TOOLS_FILE}: pass tools= (its tool set) "
                               "so requests can be routed to it")
        self.model = load_adapter(self.model, adapter_dir, adapter_name=name)
        self._tool_sets[name] = (routing_fingerprint(tool_list),
                                 frozenset(routing_fingerprint([t]) for t in tool_list))
        self._sources[name] = os.fspath(adapter)
        self._pipe = None
        logger.info("loaded adapter %r from %s (%d tools)", name, os.fspath(adapter), len(tool_list))
        return self

    def select(self, tools: Any) -> str | None:
        """The adapter name for a request's tools, or None for the base model."""
        tool_list = parse_tools(tools)
        fp = routing_fingerprint(tool_list)
        for name, (set_fp, _) in self._tool_sets.items():
            if set_fp == fp:
                return name
        if self.match == "subset" and tool_list:
            wanted = {routing_fingerprint([t]) for t in tool_list}
            candidates = [(len(fps), i, name) for i, (name, (_, fps)) in enumerate(self._tool_sets.items())
                          if wanted <= fps]
            if candidates:
                return min(candidates)[2]
        return None

    @property
    def pipeline(self):
        if self._pipe is None:
            from .modeling.pipeline_tool_calling import ToolCallingPipeline

            self._pipe = ToolCallingPipeline(model=self.model, tokenizer=self.tokenizer)
        return self._pipe

    def _run(self, name: str | None, queries: list[str], tools: list, **kwargs) -> list:
        pipe = self.pipeline
        if name is None:
            disable = getattr(self.model, "disable_adapter", None)
            if disable is None:  # no adapter loaded yet: the model is the plain base
                return pipe(queries, tools=tools, **kwargs)
            with disable():
                return pipe(queries, tools=tools, **kwargs)
        if self.model.active_adapter != name:
            self.model.set_adapter(name)
        return pipe(queries, tools=tools, **kwargs)

    def __call__(self, inputs: str | Sequence[str], tools: Any = None, adapter: str | bool | None = None, **kwargs):
        """Like the pipeline: one query (or a list) + tools (one list for all, or one per query) -> calls.
        Queries are grouped by chosen adapter; results come back in input order."""
        if tools is None:
            raise ValueError("tool-calling needs `tools=`: a list of tool schemas (or callables) to choose from.")
        single = isinstance(inputs, str)
        queries = [inputs] if single else list(inputs)
        per_query = (not single and isinstance(tools, (list, tuple)) and len(tools) == len(queries)
                     and all(isinstance(t, (list, tuple)) for t in tools))
        tool_lists = [parse_tools(t) for t in tools] if per_query else [parse_tools(tools)] * len(queries)
        if isinstance(adapter, str) and adapter not in self._tool_sets:
            raise ValueError(f"no adapter named {adapter!r}; loaded: {', '.join(self.names) or 'none'}")
        groups: dict[str | None, list[int]] = {}
        for i, tl in enumerate(tool_lists):
            if adapter is False:
                name = None
            elif isinstance(adapter, str):
                name = adapter
            else:
                name = self.select(tl)
                if name is None:
                    logger.info("no adapter matches the tools %s of request %d; using the base model",
                                [t.name for t in tl], i)
            groups.setdefault(name, []).append(i)
        results: list = [None] * len(queries)
        for name, idx in groups.items():
            outs = self._run(name, [queries[i] for i in idx], [tool_lists[i] for i in idx], **kwargs)
            for i, out in zip(idx, outs):
                results[i] = out
        return results[0] if single else results


# ---------------------------------------------------------------------------------------------- merge
def merge_adapter(base: Any, adapter: str | os.PathLike, out_dir: str | os.PathLike, tokenizer: Any = None,
                  device: str | None = None) -> Path:
    """Base + LoRA adapter -> a plain Needle model folder (``merge_and_unload`` then ``save_model_folder``: weights,
    tokenizer, remote code, custom pipeline, card). The adapter's ``tools.json`` is copied along."""
    from .saving import model_card, save_model_folder

    model, tokenizer = load_base(base, tokenizer, device=device)
    base_name = getattr(model, "name_or_path", None) or (os.fspath(base) if isinstance(base, (str, os.PathLike))
                                                         else None)
    adapter_dir = _resolve_adapter_dir(adapter)
    peft_model = load_adapter(model, adapter_dir)
    merged = peft_model.merge_and_unload()
    out = Path(out_dir)
    tools = adapter_tools(adapter_dir)
    names = ", ".join(t.name for t in tools) if tools else "its tool set"
    card = model_card(merged.config, name=out.name, base_model=base_name if base_name and "/" in base_name
                      and not Path(base_name).exists() else None,
                      description=(f"A Needle tool-calling model: `{base_name}` with the LoRA adapter "
                                   f"`{os.fspath(adapter)}` merged into its weights, specialised for {names}."))
    save_model_folder(merged.eval(), tokenizer, out, card=card)
    if (adapter_dir / TOOLS_FILE).is_file():
        shutil.copyfile(adapter_dir / TOOLS_FILE, out / TOOLS_FILE)
    return out
