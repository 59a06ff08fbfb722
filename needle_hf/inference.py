"""Loading a tool-calling pipeline from a folder, a Hub id or the shipped default, with clear errors."""
from __future__ import annotations

import json
import os
from pathlib import Path

from transformers import AutoConfig, pipeline

from . import DEFAULT_MODEL
from .onnx_runner import load_onnx_pipeline, resolve_onnx_export


def load_pipeline(model: str | os.PathLike | None = None, device=None, adapter: str | os.PathLike | None = None,
                  **kwargs):
    """`pipeline("tool-calling", model=...)` for a Needle model folder or Hub id (default: the shipped model).

    `adapter`: a LoRA adapter folder or Hub id applied on top of the model (see `needle_hf.lora`).
    An ONNX export (`needle-hf export`; a folder or the Hub id of a pushed one) runs on ONNX Runtime behind the
    same pipeline (`needle_hf.onnx_runner`)."""
    onnx_folder = resolve_onnx_export(model) if model is not None else None
    if onnx_folder is not None:
        if adapter is not None:
            raise ValueError(f"{model} is an ONNX export: adapters apply to torch models; merge the adapter "
                             "(`needle-hf merge`) and export the merged folder")
        if device is not None and str(device) not in ("cpu", "-1"):
            raise ValueError(f"{model} is an ONNX export, which runs on ONNX Runtime's CPU provider here; drop "
                             f"device={device!r}")
        return load_onnx_pipeline(onnx_folder, **kwargs)
    if adapter is not None:
        from .lora import attach_adapter_to_pipeline

        return attach_adapter_to_pipeline(load_pipeline(model, device=device, **kwargs), adapter)
    path = os.fspath(model) if model is not None else DEFAULT_MODEL
    if model is None and not Path(DEFAULT_MODEL, "config.json").is_file():
        raise FileNotFoundError(f"the default model is not installed at {DEFAULT_MODEL}; pass --model PATH_OR_HUB_ID")
    if Path(path).exists() and not Path(path, "config.json").is_file():
        raise ValueError(f"{path} is not a model folder (no config.json); pass a Needle model folder or Hub id")
    require_local_or_hub_id(path, "model folder")
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as err:
        local = "" if Path(path).exists() else f" (and there is no local folder {path!r})"
        raise ValueError(f"cannot load a model config from {path!r}{local}: {str(err).splitlines()[0]}") from None
    if config.model_type != "needle":
        raise ValueError(f"{path} is a {config.model_type!r} model, not a Needle model (model_type 'needle')")
    return pipeline("tool-calling", model=path, device=device, **kwargs)


def require_local_or_hub_id(path: str, what: str) -> None:
    """A path that does not exist here and cannot be a Hub repo id ("./x", "/x", "a/b/c") is a typo: say so at once
    instead of letting the Hub client retry a request that cannot succeed."""
    if Path(path).exists():
        return
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(path)
    except HFValidationError:
        raise FileNotFoundError(f"no such {what}: {path} (it does not exist and is not a Hub repo id)") from None


def read_tools_arg(value: str):
    """Tools given on the command line: JSON text, or @FILE with JSON in it."""
    source = "--tools"
    if value.startswith("@"):
        source = value[1:]
        if not source.strip():
            raise ValueError("--tools @ needs a file name after the @: --tools @path/to/tools.json (or JSON text)")
        try:
            value = Path(source).read_text(encoding="utf-8")
        except OSError as err:
            raise FileNotFoundError(f"cannot read tools file {source}: {err.strerror}") from None
    try:
        tools = json.loads(value)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: tools are not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
                         "give a JSON list of tool schemas") from None
    from .tools import ToolSchemaError, parse_tools

    try:
        parse_tools(tools)  # checked here so that the error names the file
    except ToolSchemaError as err:
        raise ValueError(f"{source}: {err}") from None
    return tools
