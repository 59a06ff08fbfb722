"""Write a complete, Hub-ready Needle model folder: exactly what `needle-hf push` publishes.

The folder holds config.json (+ `auto_map` and the `custom_pipelines` entry), model.safetensors,
generation_config.json, the tokenizer (portable to transformers 4.x), the remote-code files from `modeling/`
and a model card, so it loads with the package installed and, with `trust_remote_code=True`, without it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData
from transformers import GenerationConfig, pipeline

from .tokenization import make_tokenizer_config_portable

REMOTE_CODE_FILES = ("configuration_needle.py", "modeling_needle.py", "pipeline_tool_calling.py", "tools.py",
                     "constrained.py")


def generation_config_for(config) -> GenerationConfig:
    """Generation defaults live here, not in the model config (transformers 5 drops them from config.json)."""
    return GenerationConfig(decoder_start_token_id=config.decoder_start_token_id, eos_token_id=config.eos_token_id,
                            pad_token_id=config.pad_token_id, bos_token_id=config.bos_token_id,
                            max_new_tokens=256, do_sample=False, num_beams=1)


def save_model_folder(model, tokenizer, out_dir: str | os.PathLike, card: str | ModelCard | None = None) -> Path:
    """Save `model` + `tokenizer` as a self-contained Hub model folder (weights, tokenizer, generation config,
    remote code, custom pipeline, card). Returns the folder path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    type(model.config).register_for_auto_class()
    type(model).register_for_auto_class("AutoModelForSeq2SeqLM")
    model.generation_config = generation_config_for(model.config)
    # Saving through the pipeline writes `custom_pipelines` into config.json and copies the pipeline file.
    pipe = pipeline("tool-calling", model=model, tokenizer=tokenizer)
    pipe.save_pretrained(out, safe_serialization=True)
    make_tokenizer_config_portable(out)
    _copy_remote_code(out)
    card = card if card is not None else model_card(model.config, name=out.name)
    (out / "README.md").write_text(str(card), encoding="utf-8")
    return out


def _copy_remote_code(out: Path) -> None:
    """Make sure every sibling file the remote code imports is present (transformers copies most of them)."""
    source = Path(__file__).resolve().parent / "modeling"
    if not source.is_dir():  # editable install: needle_hf.modeling is the repo's modeling/ folder
        import needle_hf.modeling as modeling

        source = Path(modeling.__file__).resolve().parent
    for name in REMOTE_CODE_FILES:
        if not (out / name).exists():
            (out / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    config_path = out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.setdefault("custom_pipelines", {})["tool-calling"] = {
        "impl": "pipeline_tool_calling.ToolCallingPipeline", "pt": ["AutoModelForSeq2SeqLM"], "tf": [],
        "type": "text"}
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def model_card(config, name: str = "needle", description: str | None = None, metrics_markdown: str | None = None,
               training_markdown: str | None = None, base_model: str | None = None,
               datasets: list[str] | None = None) -> ModelCard:
    """A model card (YAML metadata + text) for a Needle model folder."""
    n_params = _count_params(config)
    data = ModelCardData(license="mit", library_name="transformers", pipeline_tag="text2text-generation",
                         tags=["needle", "tool-calling", "function-calling", "custom_code"],
                         base_model=base_model, datasets=datasets)
    sections = [
        f"# {name}",
        description or ("A Needle Simple Attention Network (attention-only encoder-decoder) that turns a request and "
                        "a list of tools into JSON tool calls."),
        "## Architecture",
        f"d_model {config.d_model}, {config.num_attention_heads} heads / {config.num_key_value_heads} KV heads, "
        f"{config.encoder_layers} encoder + {config.decoder_layers} decoder layers, vocab {config.vocab_size}, "
        f"{n_params:,} parameters.",
        "## Usage",
        "```python\nimport needle_hf  # or pass trust_remote_code=True without the package\n"
        "from transformers import pipeline\n"
        f"pipe = pipeline(\"tool-calling\", model=\"{name}\")\n"
        "pipe(\"What's the weather in Paris?\", tools=[{\"name\": \"get_weather\", \"description\": \"Current weather\","
        " \"parameters\": {\"location\": {\"type\": \"string\", \"description\": \"City\", \"required\": True}}}])\n```",
    ]
    if metrics_markdown:
        sections += ["## Evaluation", metrics_markdown]
    if training_markdown:
        sections += ["## Training", training_markdown]
    content = f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"
    return ModelCard(content)


def _count_params(config) -> int:
    d, hd = config.d_model, config.head_dim
    kv = config.num_key_value_heads * hd
    attn = 2 * d * d + 2 * d * kv + 2 * hd
    enc = config.encoder_layers * (attn + d + 1)
    dec = config.decoder_layers * (2 * attn + 2 * d + 2)
    head = d * (d // 4) + d // 4 + (d // 4) * config.contrastive_dim
    return config.vocab_size * d + enc + dec + 2 * d + head + 1
