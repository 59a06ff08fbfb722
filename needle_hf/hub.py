"""Publishing to the Hugging Face Hub.

Small general pieces, so every kind of upload (dataset folder, model folder with remote code, LoRA adapter) goes the
same way:

* :func:`hub_endpoint` / :func:`is_official_hub`: where ``HfApi()`` will talk to (``HF_ENDPOINT``, read by
  huggingface_hub at import time into ``huggingface_hub.constants.ENDPOINT``).
* :func:`resolve_token`: the token to use; a clear :class:`HubError` when there is none and the endpoint is the real
  Hub (a local/loopback endpoint may not need one).
* :func:`push_folder`: ``create_repo(exist_ok=True)`` (+ the branch when ``revision`` is not main) +
  ``upload_folder``, with HTTP errors turned into one readable :class:`HubError`.
* :func:`push_dataset`: a dataset folder written by :func:`needle_hf.data.splits.save_dataset` (checks it holds data
  files first).

Datasets are pushed as files (parquet + README card) with ``upload_folder``, not ``Dataset.push_to_hub``: the folder
is exactly what ``load_dataset(folder)`` reads locally, and the card's ``configs`` metadata maps the splits.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

OFFICIAL_HOSTS = ("huggingface.co", "hf.co")
DATA_FILE_PATTERNS = ("*.parquet", "*.jsonl", "*.jsonl.gz", "*.json", "*.csv", "*.arrow")
# never uploaded from a local folder: caches, lock and temp files
DEFAULT_IGNORE = (".cache/**", "**/.cache/**", ".git/**", "*.lock", "*.tmp", "**/*.tmp", "**/__pycache__/**")
_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


class HubError(ValueError):
    """A publishing problem the user can fix (no token, empty folder, bad repo id, upload refused)."""


def hub_endpoint(endpoint: str | None = None) -> str:
    """The Hub URL ``HfApi()`` uses: ``endpoint`` if given, else ``huggingface_hub.constants.ENDPOINT``."""
    if endpoint:
        return endpoint.rstrip("/")
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def is_official_hub(endpoint: str | None = None) -> bool:
    """True for huggingface.co / hf.co (and their subdomains); False for a mirror or a local fake Hub."""
    host = (urlsplit(hub_endpoint(endpoint)).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in OFFICIAL_HOSTS)


def resolve_token(token: str | None = None, endpoint: str | None = None) -> str | None:
    """``token``, else the logged-in token (``HF_TOKEN`` or ``hf auth login``). Raises :class:`HubError` when there is
    none and the endpoint is the real Hub; returns None for other endpoints (they may accept anonymous writes)."""
    if not token:
        from huggingface_hub import get_token

        token = get_token()
    if not token and is_official_hub(endpoint):
        raise HubError(
            f"no Hugging Face token found for {hub_endpoint(endpoint)}: run `hf auth login` or set HF_TOKEN to a "
            f"token with write access (https://huggingface.co/settings/tokens)")
    return token or None


def check_repo_id(repo_id: str) -> str:
    if not isinstance(repo_id, str) or not _REPO_ID_RE.match(repo_id):
        raise HubError(f"repo id must look like ORG/NAME (or USER/NAME), got {repo_id!r}")
    return repo_id


def _http_error_message(err: Exception) -> str:
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    server = ""
    if response is not None:
        server = response.headers.get("X-Error-Message", "") if getattr(response, "headers", None) else ""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    msg = f"{status} {server or first}" if status else first
    if status in (401, 403):
        msg += " (check that your token is valid and has write access to this namespace)"
    return msg


def _network_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [OSError]  # HfHubHTTPError and requests' errors are OSErrors
    for mod in ("httpx2", "httpx"):
        try:
            errs.append(__import__(mod).HTTPError)
        except (ImportError, AttributeError):
            pass
    return tuple(errs)


def push_folder(folder: str | os.PathLike, repo_id: str, *, repo_type: str = "model", private: bool | None = None,
                token: str | None = None, revision: str | None = None, commit_message: str | None = None,
                commit_description: str | None = None, allow_patterns: Sequence[str] | None = None,
                ignore_patterns: Sequence[str] | None = None, create_pr: bool = False,
                endpoint: str | None = None):
    """Create ``repo_id`` if needed and upload every file of ``folder`` in one commit; returns the ``CommitInfo``
    (``.commit_url``, ``.oid``, ``.repo_url``). ``revision`` names a branch (created from main if missing)."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"folder not found: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    check_repo_id(repo_id)
    token = resolve_token(token, endpoint)
    url = hub_endpoint(endpoint)
    from huggingface_hub import HfApi

    api = HfApi(endpoint=url, token=token)
    ignore = list(DEFAULT_IGNORE) + list(ignore_patterns or [])
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        if revision and revision != "main" and not create_pr:
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, revision=revision,
            commit_message=commit_message or f"Upload {repo_type} with needle-hf",
            commit_description=commit_description, allow_patterns=list(allow_patterns) if allow_patterns else None,
            ignore_patterns=ignore, create_pr=create_pr)
    except HubError:
        raise
    except _network_errors() as err:
        raise HubError(f"could not push {folder} to {repo_type} repo {repo_id} on {url}: "
                       f"{_http_error_message(err)}") from err
    logger.info("pushed %s to %s (%s)", folder, repo_id, getattr(info, "commit_url", info))
    return info


def data_files(folder: str | os.PathLike) -> list[Path]:
    """Data files (parquet / JSONL / JSON / CSV / arrow) anywhere under ``folder``, hidden folders excluded."""
    folder = Path(folder)
    found = set()
    for pattern in DATA_FILE_PATTERNS:
        for p in folder.rglob(pattern):
            rel = p.relative_to(folder).parts
            if p.is_file() and not any(part.startswith(".") for part in rel):
                found.add(p)
    return sorted(found)


def push_dataset(folder: str | os.PathLike, repo_id: str, *, private: bool | None = None, token: str | None = None,
                 revision: str | None = None, commit_message: str | None = None, create_pr: bool = False,
                 endpoint: str | None = None):
    """Upload a dataset folder (``data/*.parquet`` + ``README.md`` card, as written by ``save_dataset``) to the
    dataset repo ``repo_id``; afterwards ``datasets.load_dataset(repo_id)`` loads it. Returns the ``CommitInfo``.

    Raises :class:`HubError` when the folder has no data files or no token is available for the real Hub."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {folder}")
    files = data_files(folder)
    if not files:
        raise HubError(f"{folder} has no data files ({', '.join(DATA_FILE_PATTERNS)}); write the dataset first, "
                       f"e.g. needle_hf.data.splits.save_dataset(dsd, '{folder}')")
    if not (folder / "README.md").is_file():
        logger.warning("%s has no README.md dataset card; the Hub will infer splits from file names", folder)
    return push_folder(folder, repo_id, repo_type="dataset", private=private, token=token, revision=revision,
                       commit_message=commit_message or f"Upload dataset ({len(files)} data files) with needle-hf",
                       create_pr=create_pr, endpoint=endpoint)


__all__ = ["HubError", "OFFICIAL_HOSTS", "DATA_FILE_PATTERNS", "hub_endpoint", "is_official_hub", "resolve_token",
           "check_repo_id", "push_folder", "data_files", "push_dataset"]


# ---------------------------------------------------------------------------------------------- models and adapters
# (added for `needle-hf push FOLDER`: one command for a model folder, a LoRA adapter folder or a dataset folder)
MODEL_IGNORE = ("checkpoint-*/**", "runs/**", "base_report.json", "needle_training.json", "training_summary.json")


def folder_kind(folder: str | os.PathLike) -> str:
    """What a local folder holds: ``"adapter"`` (adapter_config.json), ``"model"`` (config.json) or ``"dataset"``
    (data files). Raises :class:`HubError` when it is none of them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    if (folder / "adapter_config.json").is_file():
        return "adapter"
    if (folder / "config.json").is_file():
        return "model"
    if data_files(folder):
        return "dataset"
    raise HubError(f"cannot tell what {folder} holds: expected adapter_config.json (a LoRA adapter), config.json "
                   f"(a model folder) or data files ({', '.join(DATA_FILE_PATTERNS)}) for a dataset")


def model_folder_problems(folder: str | os.PathLike) -> list[str]:
    """What a Needle model folder lacks to load from the Hub with and without the package: weights, tokenizer,
    ``auto_map`` + remote code files, the ``custom_pipelines`` entry of the tool-calling pipeline, a card."""
    import json

    from .saving import REMOTE_CODE_FILES

    folder = Path(folder)
    problems = []
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"config.json cannot be read ({err})"]
    if (folder / "needle_onnx.json").is_file():  # an ONNX export: graphs + tokenizer, no weights or remote code
        from .onnx_runner import onnx_export_problems

        return onnx_export_problems(folder)
    if not any((folder / n).is_file() for n in ("model.safetensors", "model.safetensors.index.json")):
        problems.append("no model.safetensors")
    if not (folder / "tokenizer.json").is_file():
        problems.append("no tokenizer.json")
    auto_map = config.get("auto_map") or {}
    if "AutoModelForSeq2SeqLM" not in auto_map or "AutoConfig" not in auto_map:
        problems.append("config.json has no auto_map (remote code) entry")
    if "tool-calling" not in (config.get("custom_pipelines") or {}):
        problems.append("config.json has no custom_pipelines['tool-calling'] entry")
    missing = [n for n in REMOTE_CODE_FILES if not (folder / n).is_file()]
    if missing:
        problems.append("remote code files missing: " + ", ".join(missing))
    if not (folder / "README.md").is_file():
        problems.append("no README.md model card")
    return problems


def _repaired_model_folder(folder: Path, tmp: Path) -> Path:
    """Load a Needle model folder and write it again with ``save_model_folder`` (remote code, pipeline, card)."""
    from transformers import AutoModelForSeq2SeqLM

    from .saving import save_model_folder
    from .tokenization import load_tokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(str(folder))
    tokenizer = load_tokenizer(str(folder))
    card = (folder / "README.md").read_text(encoding="utf-8") if (folder / "README.md").is_file() else None
    out = tmp / folder.name
    save_model_folder(model.eval(), tokenizer, out, card=card)
    return out


def push_model(folder: str | os.PathLike, repo_id: str, *, private: bool | None = None, token: str | None = None,
               revision: str | None = None, commit_message: str | None = None, create_pr: bool = False,
               endpoint: str | None = None, repair: bool = True):
    """Upload a Needle model folder (as written by ``save_model_folder`` / the training recipes) to a model repo.

    The folder is checked first (:func:`model_folder_problems`); a Needle folder without its remote code, custom
    pipeline entry or card is re-saved into a temporary copy and that copy is pushed (``repair=True``; the local
    folder is left unchanged), so ``pipeline("tool-calling", model=repo_id, trust_remote_code=True)`` works.
    Trainer checkpoints (``checkpoint-*/``) and training logs are not uploaded. Returns the ``CommitInfo``."""
    import json
    import tempfile

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise HubError(f"{folder} is not a model folder (no config.json)")
    check_repo_id(repo_id)
    resolve_token(token, endpoint)  # fail before any work when there is no token for the real Hub
    problems = model_folder_problems(folder)
    model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    kwargs = dict(repo_type="model", private=private, token=token, revision=revision, create_pr=create_pr,
                  endpoint=endpoint, ignore_patterns=MODEL_IGNORE)
    onnx_export = (folder / "needle_onnx.json").is_file()
    if problems and model_type == "needle" and repair and "no model.safetensors" not in problems and not onnx_export:
        logger.warning("%s: %s; pushing a repaired copy (the folder itself is unchanged)", folder,
                       "; ".join(problems))
        with tempfile.TemporaryDirectory(prefix="needle-push-") as tmp:
            fixed = _repaired_model_folder(folder, Path(tmp))
            return push_folder(fixed, repo_id, commit_message=commit_message or "Upload Needle model with needle-hf",
                               **kwargs)
    if problems:
        logger.warning("%s: %s", folder, "; ".join(problems))
    return push_folder(folder, repo_id, commit_message=commit_message or "Upload model with needle-hf", **kwargs)


def push_adapter(folder: str | os.PathLike, repo_id: str, *, private: bool | None = None, token: str | None = None,
                 revision: str | None = None, commit_message: str | None = None, create_pr: bool = False,
                 endpoint: str | None = None, base_model_id: str | None = None):
    """Upload a LoRA adapter folder (adapter_config.json + adapter_model.safetensors [+ tools.json, README.md]).

    ``base_model_id`` (a Hub id) replaces ``base_model_name_or_path`` in the uploaded adapter_config.json (in a
    temporary copy), so that ``AutoModelForSeq2SeqLM.from_pretrained(repo_id)`` and ``pipeline(model=repo_id)`` find the base;
    a local base path left there is reported as a warning. Returns the ``CommitInfo``."""
    import json
    import shutil
    import tempfile

    folder = Path(folder)
    config_path = folder / "adapter_config.json"
    if not config_path.is_file():
        raise HubError(f"{folder} is not a LoRA adapter folder (no adapter_config.json)")
    if not (folder / "adapter_model.safetensors").is_file():
        raise HubError(f"{folder} has no adapter_model.safetensors (save the adapter with safe_serialization=True)")
    check_repo_id(repo_id)
    resolve_token(token, endpoint)
    if not (folder / "tools.json").is_file():
        logger.warning("%s has no tools.json: an AdapterRouter cannot match requests to it by tool set", folder)
    config = json.loads(config_path.read_text(encoding="utf-8"))
    kwargs = dict(repo_type="model", private=private, token=token, revision=revision, create_pr=create_pr,
                  endpoint=endpoint, commit_message=commit_message or "Upload LoRA adapter with needle-hf")
    if base_model_id and base_model_id != config.get("base_model_name_or_path"):
        check_repo_id(base_model_id)
        with tempfile.TemporaryDirectory(prefix="needle-push-") as tmp:
            copy = Path(tmp) / folder.name
            shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".cache", "__pycache__"))
            config["base_model_name_or_path"] = base_model_id
            (copy / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n",
                                                      encoding="utf-8")
            return push_folder(copy, repo_id, **kwargs)
    base = config.get("base_model_name_or_path") or ""
    if not base or Path(base).exists() or not _REPO_ID_RE.match(base):
        logger.warning("adapter_config.json names the base model %r, which others cannot download; pass "
                       "base_model_id='ORG/NAME' (CLI: --base-model-id) to publish it with the base's Hub id", base)
    return push_folder(folder, repo_id, **kwargs)


def push_any(folder: str | os.PathLike, repo_id: str, *, kind: str | None = None, **kwargs):
    """Push a model, adapter or dataset folder (``kind`` detected with :func:`folder_kind` when None).
    Returns ``(kind, CommitInfo)``. ``base_model_id`` only applies to adapters; ``repair`` only to models."""
    kind = kind or folder_kind(folder)
    if kind == "adapter":
        kwargs.pop("repair", None)
        return kind, push_adapter(folder, repo_id, **kwargs)
    base_model_id = kwargs.pop("base_model_id", None)
    if base_model_id:
        raise HubError(f"--base-model-id only applies to LoRA adapter folders; {folder} holds a {kind}")
    if kind == "model":
        return kind, push_model(folder, repo_id, **kwargs)
    if kind == "dataset":
        kwargs.pop("repair", None)
        return kind, push_dataset(folder, repo_id, **kwargs)
    raise HubError(f"unknown folder kind {kind!r}: use model, adapter or dataset")


__all__ += ["folder_kind", "model_folder_problems", "push_model", "push_adapter", "push_any"]
