"""An in-memory fake Hugging Face Hub served over HTTP on 127.0.0.1, for offline tests.

It speaks enough of the Hub HTTP API for the real clients (huggingface_hub 2.x, transformers, datasets) to
publish and fetch repositories of every type (model, dataset, space) at any revision (branches, tags, commit
shas, ``refs/pr/N``):

* ``HfApi().create_repo / delete_repo / repo_info / model_info / dataset_info / list_repo_files / list_repo_tree
  / get_paths_info / list_repo_refs / list_repo_commits / create_branch / delete_branch / create_tag /
  delete_tag / update_repo_settings / whoami``
* ``upload_file / upload_folder / create_commit`` (regular base64 files, and git-LFS uploads for binary files,
  see ``lfs_patterns``), ``create_pr=True``, ``parent_commit``, deletions and copies
* ``hf_hub_download / snapshot_download`` (HEAD/GET ``resolve`` with ``ETag``, ``X-Repo-Commit``, ranges)
* ``model.push_to_hub`` + ``AutoModel*.from_pretrained("Org/x")``, ``ModelCard/DatasetCard.push_to_hub``
* ``datasets.load_dataset("Org/x")`` of parquet files (uploaded with ``upload_folder``), and also
  ``Dataset.push_to_hub`` (its parquet shards go through the LFS path)

Usage in pytest (the fixture starts a server, points every library at it, isolates the HF cache under
``tmp_path`` and undoes everything afterwards)::

    from .fakehub import fake_hub  # noqa: F401  (import the fixture into the test module; tests/ is a package)

    def test_publish(fake_hub):
        from huggingface_hub import HfApi, hf_hub_download
        HfApi().create_repo("Org/x", repo_type="dataset")
        HfApi().upload_folder(folder_path=folder, repo_id="Org/x", repo_type="dataset")
        assert "README.md" in fake_hub.files("Org/x", repo_type="dataset")     # bytes by path
        hf_hub_download("Org/x", "README.md", repo_type="dataset")

The fixture yields the ``FakeHub``: ``fake_hub.url``, ``fake_hub.files(repo_id, repo_type, revision)``,
``fake_hub.add_files(...)`` to seed a repo without going through HTTP, ``fake_hub.requests`` (every
``(method, path)`` seen) and ``fake_hub.unhandled`` (requests it did not understand: assert it is empty when
debugging a new client).  ``fake_hub_no_token`` is the same with no token in the environment.

Outside pytest::

    with FakeHub() as hub, hub.patched(hf_home=tmpdir, token="x"):
        ...   # huggingface_hub / transformers / datasets now talk to hub.url

Why ``patched()`` and not just ``HF_ENDPOINT``: huggingface_hub reads ``HF_ENDPOINT`` (and ``HF_HUB_DISABLE_XET``,
``HF_HOME``, ``HF_HUB_OFFLINE``) once, at import time, into ``huggingface_hub.constants`` (``ENDPOINT``,
``HUGGINGFACE_CO_URL_TEMPLATE``, ...); its module-level functions (``huggingface_hub.upload_file``, ``create_repo``,
used e.g. by ``RepoCard.push_to_hub``) are methods of one ``HfApi()`` built at import time with that endpoint; and
datasets copies the values into ``datasets.config`` (``HF_ENDPOINT``, ``HUB_DATASETS_URL``, cache paths). Setting the
environment variable inside a test is too late, so ``patched()`` sets the variables (for subprocesses) *and* the
already-imported constants and that shared ``HfApi`` instance, and clears the ``HfFileSystem`` instance cache (its
listings are cached per endpoint); everything is restored on exit. For a CLI subprocess, pass ``hub.env(token="x")``
as its environment (a fresh interpreter reads the variables at import). ``HfApi(endpoint=...)`` objects created
*before* ``patched()`` keep their endpoint: create clients inside the block.

Caches: with ``hf_home`` the hub, datasets and token caches live under it; transformers' remote-code module cache
(``HF_MODULES_CACHE``, fixed at import) is not moved (commit shas are random per FakeHub, so nothing stale is reused).

Not implemented: xet storage (``HF_HUB_DISABLE_XET=1`` is forced), spaces runtime, discussions/comments,
collections, inference, gated repos, ``super_squash``, pagination (all entries are returned in one page).
"""
from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import fnmatch
import hashlib
import json
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

REPO_TYPES = ("model", "dataset", "space")
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
# Files stored through git-LFS by default (mirrors the Hub's default .gitattributes for binaries).
DEFAULT_LFS_PATTERNS = (
    "*.parquet", "*.arrow", "*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.onnx", "*.h5",
    "*.msgpack", "*.npy", "*.npz", "*.gz", "*.zip", "*.tar", "*.model", "*.gguf",
)
_LFS_POINTER_SIZE = 134


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob (what the Hub returns as ``oid``/``blobId`` for regular files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Blob:
    data: bytes
    lfs: bool = False

    @property
    def sha1(self) -> str:
        return git_blob_sha1(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.sha1


@dataclass
class Commit:
    oid: str
    files: dict[str, Blob]
    parent: str | None
    title: str
    message: str = ""
    date: str = field(default_factory=_now)


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    prs: dict[int, str] = field(default_factory=dict)  # refs/pr/N -> commit oid
    created: str = field(default_factory=_now)

    def resolve(self, revision: str | None) -> Commit | None:
        revision = revision or "main"
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if revision in self.tags:
            return self.commits[self.tags[revision]]
        m = re.fullmatch(r"refs/pr/(\d+)", revision)
        if m and int(m.group(1)) in self.prs:
            return self.commits[self.prs[int(m.group(1))]]
        if re.fullmatch(r"[0-9a-f]{7,40}", revision):
            hits = [c for oid, c in self.commits.items() if oid.startswith(revision)]
            if len(hits) == 1:
                return hits[0]
        return None

    def history(self, commit: Commit) -> list[Commit]:
        out = []
        while commit is not None:
            out.append(commit)
            commit = self.commits.get(commit.parent) if commit.parent else None
        return out


class _HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class FakeHub:
    """In-memory Hub. ``FakeHub()`` then ``start()`` (or use it as a context manager) to serve on 127.0.0.1.

    Args:
        user: the account name the server reports (``whoami``) and the namespace of repos created without one.
        require_token: when True (default) writes and reads of private repos need an ``Authorization`` header
            (any bearer value is accepted), like the real Hub answering 401 to anonymous writes.
        lfs_patterns: glob patterns of files uploaded through the LFS protocol (``()``: everything regular).
    """

    def __init__(self, user: str = "tester", require_token: bool = True,
                 lfs_patterns: tuple[str, ...] = DEFAULT_LFS_PATTERNS, host: str = "127.0.0.1", port: int = 0):
        self.user = user
        self.require_token = require_token
        self.lfs_patterns = tuple(lfs_patterns)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeHub is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeHub":
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakehub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ environment
    def env(self, token: str | None = "x", hf_home: str | os.PathLike | None = None) -> dict[str, str]:
        """Environment variables pointing a *subprocess* (e.g. the CLI) at this hub."""
        env = {
            "HF_ENDPOINT": self.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_OFFLINE": "0",
            "HF_DATASETS_OFFLINE": "0",
            "TRANSFORMERS_OFFLINE": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "NO_PROXY": ",".join(filter(None, ["127.0.0.1", "localhost", os.environ.get("NO_PROXY", "")])),
        }
        if token is not None:
            env["HF_TOKEN"] = token
        if hf_home is not None:
            env["HF_HOME"] = str(hf_home)
        return env

    @contextlib.contextmanager
    def patched(self, token: str | None = "x", hf_home: str | os.PathLike | None = None) -> Iterator["FakeHub"]:
        """Point the already-imported huggingface_hub / datasets at this hub (env vars + module constants).

        ``token=None`` removes ``HF_TOKEN`` and hides the token file (for "not logged in" tests).
        ``hf_home`` (recommended) isolates every cache (hub, datasets, token) under that folder.
        """
        import huggingface_hub.constants as hc

        env_keys = set(self.env(token="x", hf_home=".")) | {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HOME"}
        saved_env = {k: os.environ.get(k) for k in env_keys}
        undo: list[tuple[Any, str, Any]] = []

        def setattr_(obj, name, value):
            if hasattr(obj, name):
                undo.append((obj, name, getattr(obj, name)))
                setattr(obj, name, value)

        try:
            os.environ.update(self.env(token=token, hf_home=hf_home))
            os.environ.pop("HF_HUB_OFFLINE", None)
            os.environ.pop("HF_DATASETS_OFFLINE", None)
            os.environ.pop("TRANSFORMERS_OFFLINE", None)
            if token is None:
                os.environ.pop("HF_TOKEN", None)
                os.environ.pop("HUGGING_FACE_HUB_TOKEN", None)
            host = urlsplit(self.url).hostname
            # module-level helpers (huggingface_hub.upload_file, create_repo, ... used by RepoCard.push_to_hub) are
            # bound to one HfApi() built at import with the endpoint of that moment: import it now, then repoint it
            import huggingface_hub.hf_api as hf_api

            setattr_(hf_api.api, "endpoint", self.url)
            try:  # transformers keeps its own shared HfApi, built on first use: drop it so it is rebuilt here
                import transformers.utils.hub as th
            except ImportError:
                th = None
            if th is not None:
                setattr_(th, "_hf_api", None)
            setattr_(hc, "ENDPOINT", self.url)
            setattr_(hc, "HUGGINGFACE_CO_URL_TEMPLATE", self.url + "/{repo_id}/resolve/{revision}/{filename}")
            setattr_(hc, "HF_URL_HOSTS", frozenset(hc.HF_URL_HOSTS | {host}))
            setattr_(hc, "HF_HUB_DISABLE_XET", True)
            setattr_(hc, "HF_HUB_OFFLINE", False)
            setattr_(hc, "HF_HUB_DISABLE_TELEMETRY", True)
            if hf_home is not None:
                home = os.fspath(hf_home)
                os.makedirs(home, exist_ok=True)
                for name, value in {
                    "HF_HOME": home,
                    "HF_HUB_CACHE": os.path.join(home, "hub"),
                    "HUGGINGFACE_HUB_CACHE": os.path.join(home, "hub"),
                    "HF_ASSETS_CACHE": os.path.join(home, "assets"),
                    "HUGGINGFACE_ASSETS_CACHE": os.path.join(home, "assets"),
                    "HF_XET_CACHE": os.path.join(home, "xet"),
                    "HF_TOKEN_PATH": os.path.join(home, "token"),
                    "HF_STORED_TOKENS_PATH": os.path.join(home, "stored_tokens"),
                }.items():
                    setattr_(hc, name, value)
            elif token is None:
                setattr_(hc, "HF_TOKEN_PATH", os.path.join(os.devnull, "no-token"))
            try:
                import datasets.config as dc
            except ImportError:
                dc = None
            if dc is not None:
                from pathlib import Path

                setattr_(dc, "HF_ENDPOINT", self.url)
                setattr_(dc, "HUB_DATASETS_URL", self.url + "/datasets/{repo_id}/resolve/{revision}/{path}")
                setattr_(dc, "HF_HUB_OFFLINE", False)
                setattr_(dc, "HF_DATASETS_OFFLINE", False)
                if hf_home is not None:
                    dcache = Path(os.fspath(hf_home)) / "datasets"
                    setattr_(dc, "HF_CACHE_HOME", os.fspath(hf_home))
                    setattr_(dc, "HF_DATASETS_CACHE", dcache)
                    setattr_(dc, "DOWNLOADED_DATASETS_PATH", str(dcache / "downloads"))
                    setattr_(dc, "EXTRACTED_DATASETS_PATH", str(dcache / "downloads" / "extracted"))
            _clear_client_caches()
            yield self
        finally:
            for obj, name, value in reversed(undo):
                setattr(obj, name, value)
            for k, v in saved_env.items():  # restore only what we touched
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            _clear_client_caches()

    # ------------------------------------------------------------------ direct (non-HTTP) helpers
    def get_repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise KeyError(f"no {repo_type} repo {repo_id!r} on the fake hub (have: {sorted(self.repos)})")
        return repo

    def create_repo(self, repo_id: str, repo_type: str = "model", private: bool = False,
                    exist_ok: bool = False) -> Repo:
        with self._lock:
            key = (repo_type, repo_id)
            if key in self.repos:
                if not exist_ok:
                    raise _HttpError(409, f"You already created this {repo_type} repo", "RepoExists")
                return self.repos[key]
            repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private)
            # the Hub seeds every new repo with a .gitattributes (LFS patterns)
            files = {".gitattributes": Blob(_gitattributes(self.lfs_patterns).encode())}
            oid = _new_oid()
            repo.commits[oid] = Commit(oid=oid, files=files, parent=None, title="initial commit")
            repo.branches["main"] = oid
            self.repos[key] = repo
            return repo

    def add_files(self, repo_id: str, files: dict[str, bytes | str], repo_type: str = "model",
                  revision: str = "main", message: str = "add files") -> str:
        """Commit ``{path: content}`` directly (creates the repo and branch if needed); returns the commit oid."""
        with self._lock:
            repo = self.create_repo(repo_id, repo_type, exist_ok=True)
            if revision not in repo.branches:
                repo.branches[revision] = repo.branches["main"]
            head = repo.commits[repo.branches[revision]]
            new = dict(head.files)
            for path, content in files.items():
                data = content.encode() if isinstance(content, str) else bytes(content)
                new[path] = Blob(data, lfs=self._is_lfs(path, len(data)))
                if new[path].lfs:  # so LFS copies / re-uploads of it find the object
                    self.lfs_objects[new[path].sha256] = data
            return self._commit(repo, revision, new, message)

    def files(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> dict[str, bytes]:
        """``{path: content}`` of a repo at a revision."""
        commit = self.get_repo(repo_id, repo_type).resolve(revision)
        if commit is None:
            raise KeyError(f"revision {revision!r} not found in {repo_type} repo {repo_id!r}")
        return {p: b.data for p, b in commit.files.items()}

    # ------------------------------------------------------------------ internals
    def _is_lfs(self, path: str, size: int) -> bool:
        if size == 0:
            return False
        name = path.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(name, pat) or fnmatch.fnmatch(path, pat) for pat in self.lfs_patterns)

    def _commit(self, repo: Repo, branch: str, files: dict[str, Blob], title: str, message: str = "",
                ref_kind: str = "branch") -> str:
        parent = repo.branches[branch] if ref_kind == "branch" else None
        oid = _new_oid()
        repo.commits[oid] = Commit(oid=oid, files=files, parent=parent, title=title, message=message)
        repo.branches[branch] = oid
        return oid


def _new_oid() -> str:
    return hashlib.sha1(uuid.uuid4().bytes).hexdigest()


def _gitattributes(patterns) -> str:
    return "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in patterns)


def _clear_client_caches() -> None:
    try:
        from huggingface_hub import HfFileSystem

        HfFileSystem.clear_instance_cache()
    except Exception:  # pragma: no cover - best effort
        pass


# ---------------------------------------------------------------------------------------------- HTTP layer
class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    # every verb goes through the same dispatcher
    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        if getattr(self, "_cached_body", None) is not None:
            return self._cached_body
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            data = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
        self._cached_body = data
        return data

    def _json_body(self) -> Any:
        data = self._body()
        return json.loads(data) if data else {}

    def _send(self, status: int, body: bytes | str | Any = b"", headers: dict[str, str] | None = None,
              content_type: str | None = None) -> None:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            content_type = content_type or "application/json"
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self) -> bool:
        return (self.headers.get("Authorization") or "").lower().startswith("bearer ")

    def _dispatch(self, method: str) -> None:
        self._cached_body = None
        parts = urlsplit(self.path)
        self.query = parse_qs(parts.query, keep_blank_values=True)
        fake = self.fake
        with fake._lock:
            fake.requests.append((method, parts.path))
        try:
            # read the body first so keep-alive connections stay in sync even on errors
            if method in ("POST", "PUT", "DELETE"):
                self._body()
            handled = self._route(method, parts.path)
            if not handled:
                with fake._lock:
                    fake.unhandled.append((method, self.path))
                self._send(404, {"error": f"fake hub: no route for {method} {parts.path}"})
        except _HttpError as err:
            headers = {"X-Error-Message": err.message}
            if err.code:
                headers["X-Error-Code"] = err.code
            self._send(err.status, {"error": err.message}, headers=headers)
        except Exception as err:  # pragma: no cover - surfaces server bugs as 500s with the message
            self._send(500, {"error": f"fake hub internal error: {type(err).__name__}: {err}"})

    # ------------------------------------------------------------------ routing
    def _route(self, method: str, path: str) -> bool:
        segs = [s for s in path.split("/") if s != ""]
        if not segs:
            return False
        if segs[0] == "api":
            return self._route_api(method, segs[1:])
        if segs[0] in ("lfs-upload", "lfs-verify"):
            return self._route_lfs_transfer(method, segs)
        # LFS batch: /[datasets/|spaces/]{ns}/{name}.git/info/lfs/objects/batch
        if len(segs) >= 5 and segs[-4:] == ["info", "lfs", "objects", "batch"]:
            repo_type, rest = self._split_type_prefix(segs[:-4])
            if rest and rest[-1].endswith(".git"):
                rest = rest[:-1] + [rest[-1][: -len(".git")]]
                return self._lfs_batch(method, repo_type, "/".join(rest))
        # resolve: /[datasets/|spaces/]{repo_id}/resolve/{rev}/{path}
        if "resolve" in segs:
            repo_type, rest = self._split_type_prefix(segs)
            if "resolve" in rest:
                i = rest.index("resolve")
                if 1 <= i <= 2 and len(rest) >= i + 3 and method in ("GET", "HEAD"):
                    repo_id = "/".join(rest[:i])
                    revision = unquote(rest[i + 1])
                    filename = "/".join(unquote(s) for s in rest[i + 2:])
                    return self._resolve(repo_type, repo_id, revision, filename)
        return False

    @staticmethod
    def _split_type_prefix(segs: list[str]) -> tuple[str, list[str]]:
        if segs and segs[0] in ("datasets", "spaces") and len(segs) > 2:
            return segs[0][:-1], segs[1:]
        return "model", segs

    def _route_api(self, method: str, segs: list[str]) -> bool:
        fake = self.fake
        if segs == ["whoami-v2"] and method == "GET":
            if not self._authorized():
                raise _HttpError(401, "Invalid credentials in Authorization header")
            self._send(200, {"type": "user", "id": "fake-user", "name": fake.user, "fullname": fake.user,
                             "orgs": [], "auth": {"type": "access_token",
                                                  "accessToken": {"displayName": "fake", "role": "write"}}})
            return True
        if segs == ["validate-yaml"] and method == "POST":
            self._send(200, {"errors": [], "warnings": []})
            return True
        if segs[:1] == ["repos"] and len(segs) == 2:
            return self._repos_admin(method, segs[1])
        if not segs or segs[0] not in ("models", "datasets", "spaces"):
            return False
        repo_type = segs[0][:-1]
        rest = segs[1:]
        # repo id is "ns/name" (or a single legacy "name"); the next segment, if any, is the action
        actions = {"revision", "tree", "paths-info", "preupload", "commit", "refs", "commits", "branch", "tag",
                   "settings", "resolve"}
        if len(rest) >= 2 and rest[1] not in actions:
            repo_id, tail = "/".join(rest[:2]), rest[2:]
        elif rest:
            repo_id, tail = rest[0], rest[1:]
        else:
            return False
        if not tail:
            if method == "GET":
                return self._repo_info(repo_type, repo_id, "main")
            return False
        action, args = tail[0], [unquote(s) for s in tail[1:]]
        if action == "revision" and method == "GET" and args:
            return self._repo_info(repo_type, repo_id, args[0])
        if action == "tree" and method == "GET":
            revision = args[0] if args else "main"
            return self._tree(repo_type, repo_id, revision, "/".join(args[1:]))
        if action == "paths-info" and method == "POST" and args:
            return self._paths_info(repo_type, repo_id, args[0])
        if action == "preupload" and method == "POST" and args:
            return self._preupload(repo_type, repo_id, args[0])
        if action == "commit" and method == "POST" and args:
            return self._commit(repo_type, repo_id, args[0])
        if action == "refs" and method == "GET":
            return self._refs(repo_type, repo_id)
        if action == "commits" and method == "GET":
            return self._commits(repo_type, repo_id, args[0] if args else "main")
        if action == "branch" and args:
            return self._branch(method, repo_type, repo_id, "/".join(args))
        if action == "tag" and args:
            return self._tag(method, repo_type, repo_id, "/".join(args))
        if action == "settings" and method == "PUT":
            repo = self._repo(repo_type, repo_id, write=True)
            body = self._json_body()
            if "private" in body:
                repo.private = bool(body["private"])
            if "visibility" in body:
                repo.private = body["visibility"] == "private"
            self._send(200, {})
            return True
        return False

    # ------------------------------------------------------------------ helpers
    def _repo(self, repo_type: str, repo_id: str, write: bool = False) -> Repo:
        fake = self.fake
        if write and fake.require_token and not self._authorized():
            raise _HttpError(401, "You must be authenticated to write to a repo (pass a token)")
        repo = fake.repos.get((repo_type, repo_id))
        if repo is None and "/" not in repo_id:
            repo = fake.repos.get((repo_type, f"{fake.user}/{repo_id}"))
        if repo is None or (repo.private and fake.require_token and not self._authorized()):
            raise _HttpError(404, "Repository not found", "RepoNotFound")
        return repo

    def _commit_of(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(unquote(revision))
        if commit is None:
            raise _HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _url_prefix(self, repo_type: str) -> str:
        return f"{self.fake.url}/{URL_PREFIX[repo_type]}"

    def _last_commit(self, repo: Repo, commit: Commit, path: str, is_dir: bool) -> dict:
        def state(c: Commit):
            if is_dir:
                return {p: b.sha1 for p, b in c.files.items() if p.startswith(path + "/")}
            b = c.files.get(path)
            return b.sha1 if b else None

        hist = repo.history(commit)
        last = hist[0]
        for newer, older in zip(hist, hist[1:]):
            if state(newer) != state(older):
                last = newer
                break
            last = older
        return {"id": last.oid, "title": last.title, "date": last.date}

    def _entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict | None:
        blob = commit.files.get(path)
        if blob is not None:
            e = {"type": "file", "oid": blob.sha1, "size": len(blob.data), "path": path}
            if blob.lfs:
                e["lfs"] = {"oid": blob.sha256, "size": len(blob.data), "pointerSize": _LFS_POINTER_SIZE}
            if expand:
                e["lastCommit"] = self._last_commit(repo, commit, path, False)
                e["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False},
                                           "pickleImportScan": None}
            return e
        if path == "" or any(p.startswith(path + "/") for p in commit.files):
            e = {"type": "directory", "oid": hashlib.sha1(f"{commit.oid}:{path}".encode()).hexdigest(),
                 "path": path}
            if expand:
                e["lastCommit"] = self._last_commit(repo, commit, path, True)
            return e
        return None

    # ------------------------------------------------------------------ endpoints
    def _repos_admin(self, method: str, action: str) -> bool:
        fake = self.fake
        if action == "create" and method == "POST":
            if fake.require_token and not self._authorized():
                raise _HttpError(401, "You must be authenticated to create a repo (pass a token)")
            body = self._json_body()
            repo_type = body.get("type") or "model"
            if repo_type not in REPO_TYPES:
                raise _HttpError(400, f"unknown repo type {repo_type!r}")
            repo_id = f"{body.get('organization') or fake.user}/{body['name']}"
            private = body.get("private") or body.get("visibility") == "private"
            url = f"{self._url_prefix(repo_type)}{repo_id}"
            if (repo_type, repo_id) in fake.repos:  # the Hub answers 409 with the url (create_repo(exist_ok) reads it)
                self._send(409, {"error": "You already created this repo", "url": url},
                           headers={"X-Error-Message": "You already created this repo"})
                return True
            fake.create_repo(repo_id, repo_type, private=bool(private))
            self._send(200, {"url": url, "name": repo_id, "id": repo_id})
            return True
        if action == "delete" and method == "DELETE":
            body = self._json_body()
            repo_type = body.get("type") or "model"
            repo_id = f"{body.get('organization') or fake.user}/{body['name']}"
            self._repo(repo_type, repo_id, write=True)
            with fake._lock:
                del fake.repos[(repo_type, repo_id)]
            self._send(200, {})
            return True
        if action == "move" and method == "POST":
            body = self._json_body()
            repo_type = body.get("type") or "model"
            repo = self._repo(repo_type, body["fromRepo"], write=True)
            with fake._lock:
                del fake.repos[(repo_type, repo.repo_id)]
                repo.repo_id = body["toRepo"]
                fake.repos[(repo_type, repo.repo_id)] = repo
            self._send(200, {})
            return True
        return False

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> bool:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit_of(repo, revision)
        siblings = []
        for path in sorted(commit.files):
            blob = commit.files[path]
            s = {"rfilename": path, "size": len(blob.data), "blobId": blob.sha1}
            if blob.lfs:
                s["lfs"] = {"size": len(blob.data), "sha256": blob.sha256, "pointerSize": _LFS_POINTER_SIZE}
            siblings.append(s)
        card = _card_data(commit.files.get("README.md"))
        info = {
            "_id": hashlib.md5(f"{repo_type}/{repo.repo_id}".encode()).hexdigest()[:24],
            "id": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": commit.oid,
            "lastModified": commit.date, "createdAt": repo.created, "private": repo.private,
            "gated": False, "disabled": False, "downloads": 0, "likes": 0,
            "tags": list(card.get("tags") or []) if isinstance(card.get("tags"), list) else [],
            "siblings": siblings, "cardData": card or None,
            "usedStorage": sum(len(b.data) for b in commit.files.values()),
        }
        if repo_type == "model":
            info["modelId"] = repo.repo_id
            info["library_name"] = card.get("library_name")
            info["pipeline_tag"] = card.get("pipeline_tag")
            cfg = commit.files.get("config.json")
            if cfg is not None:
                with contextlib.suppress(Exception):
                    info["config"] = {k: v for k, v in json.loads(cfg.data).items()
                                      if k in ("architectures", "model_type", "auto_map")}
        if repo_type == "space":
            info["sdk"] = card.get("sdk", "static")
            info["runtime"] = {"stage": "RUNNING", "hardware": {"current": None, "requested": None}}
        self._send(200, info)
        return True

    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str) -> bool:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit_of(repo, revision)
        recursive = (self.query.get("recursive", ["false"])[0]).lower() in ("1", "true")
        expand = (self.query.get("expand", ["false"])[0]).lower() in ("1", "true")
        path = path.strip("/")
        if path and path in commit.files:
            raise _HttpError(404, f"{path} is a file, not a folder", "EntryNotFound")
        prefix = path + "/" if path else ""
        under = [p for p in commit.files if p.startswith(prefix)]
        if path and not under:
            raise _HttpError(404, f"Entry not found: {path}", "EntryNotFound")
        names: set[str] = set()
        for p in under:
            rel = p[len(prefix):].split("/")
            if recursive:
                for i in range(1, len(rel) + 1):
                    names.add(prefix + "/".join(rel[:i]))
            else:
                names.add(prefix + rel[0])
        entries = [self._entry(repo, commit, n, expand) for n in sorted(names)]
        # directories first, like the Hub
        entries.sort(key=lambda e: (e["type"] != "directory", e["path"]))
        self._send(200, entries)
        return True

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> bool:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit_of(repo, revision)
        ctype = self.headers.get("Content-Type") or ""
        raw = self._body().decode()
        if "json" in ctype:
            body = json.loads(raw or "{}")
            paths, expand = body.get("paths", []), bool(body.get("expand"))
        else:
            form = parse_qs(raw, keep_blank_values=True)
            paths = form.get("paths", [])
            expand = (form.get("expand", ["False"])[0]).lower() in ("1", "true")
        out = []
        for p in paths:
            e = self._entry(repo, commit, p.strip("/"), expand)
            if e is not None:
                out.append(e)
        self._send(200, out)
        return True

    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> bool:
        repo = self._repo(repo_type, repo_id, write=True)
        commit = repo.resolve(unquote(revision))
        if commit is None and not self.query.get("create_pr"):
            raise _HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        files = []
        for f in self._json_body().get("files", []):
            lfs = self.fake._is_lfs(f["path"], int(f.get("size", 0)))
            info = {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
            existing = commit.files.get(f["path"]) if commit is not None else None
            if existing is not None:
                info["oid"] = existing.sha256 if lfs else existing.sha1
            files.append(info)
        self._send(200, {"files": files, "commitOid": commit.oid if commit else None})
        return True

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> bool:
        fake = self.fake
        repo = self._repo(repo_type, repo_id, write=True)
        revision = unquote(revision)
        create_pr = bool(self.query.get("create_pr"))
        lines = [json.loads(line) for line in self._body().decode().splitlines() if line.strip()]
        header = next((x["value"] for x in lines if x.get("key") == "header"), {})
        with fake._lock:
            base = repo.resolve(revision)
            if base is None:
                raise _HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            if revision not in repo.branches and not create_pr and not revision.startswith("refs/pr/"):
                raise _HttpError(400, f"Cannot commit to {revision!r}: not a branch")
            parent = header.get("parentCommit")
            if parent and parent != base.oid:
                raise _HttpError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(base.files)
            for item in lines:
                key, value = item.get("key"), item.get("value") or {}
                if key == "file":
                    data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" \
                        else value["content"].encode()
                    files[value["path"]] = Blob(data, lfs=False)
                elif key == "lfsFile":
                    data = fake.lfs_objects.get(value["oid"])
                    if data is None:
                        raise _HttpError(422, f"LFS object {value['oid']} was not uploaded")
                    files[value["path"]] = Blob(data, lfs=True)
                elif key == "deletedFile":
                    if value["path"] not in files:
                        raise _HttpError(404, "A file with this name doesn't exist", "EntryNotFound")
                    del files[value["path"]]
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    for p in [p for p in files if p.startswith(prefix)]:
                        del files[p]
            title, message = header.get("summary", "commit"), header.get("description", "")
            oid = _new_oid()
            if create_pr:
                num = max(repo.prs, default=0) + 1
                repo.commits[oid] = Commit(oid=oid, files=files, parent=base.oid, title=title, message=message)
                repo.prs[num] = oid
                pr_url = f"{self._url_prefix(repo_type)}{repo.repo_id}/discussions/{num}"
            elif revision.startswith("refs/pr/"):
                num = int(revision.rsplit("/", 1)[1])
                repo.commits[oid] = Commit(oid=oid, files=files, parent=base.oid, title=title, message=message)
                repo.prs[num] = oid
                pr_url = None
            else:
                oid = fake._commit(repo, revision, files, title, message)
                pr_url = None
        self._send(200, {"success": True, "commitOid": oid,
                         "commitUrl": f"{self._url_prefix(repo_type)}{repo.repo_id}/commit/{oid}",
                         "pullRequestUrl": pr_url})
        return True

    def _refs(self, repo_type: str, repo_id: str) -> bool:
        repo = self._repo(repo_type, repo_id)
        out = {
            "branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": o} for b, o in repo.branches.items()],
            "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": o} for t, o in repo.tags.items()],
            "converts": [],
        }
        if self.query.get("include_prs"):
            out["pullRequests"] = [{"name": f"refs/pr/{n}", "ref": f"refs/pr/{n}", "targetCommit": o}
                                   for n, o in repo.prs.items()]
        self._send(200, out)
        return True

    def _commits(self, repo_type: str, repo_id: str, revision: str) -> bool:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit_of(repo, revision)
        out = [{"id": c.oid, "title": c.title, "message": c.message, "date": c.date,
                "authors": [{"user": self.fake.user}]} for c in repo.history(commit)]
        self._send(200, out)
        return True

    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str) -> bool:
        repo = self._repo(repo_type, repo_id, write=True)
        with self.fake._lock:
            if method == "POST":
                if branch in repo.branches:
                    raise _HttpError(409, f"Reference already exists: refs/heads/{branch}")
                start = self._json_body().get("startingPoint") or "main"
                repo.branches[branch] = self._commit_of(repo, start).oid
            elif method == "DELETE":
                if branch not in repo.branches:
                    raise _HttpError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
                del repo.branches[branch]
            else:
                return False
        self._send(200, {})
        return True

    def _tag(self, method: str, repo_type: str, repo_id: str, arg: str) -> bool:
        repo = self._repo(repo_type, repo_id, write=True)
        with self.fake._lock:
            if method == "POST":  # /tag/{revision} with {"tag": name}
                body = self._json_body()
                tag = body["tag"]
                if tag in repo.tags:
                    raise _HttpError(409, f"Tag reference already exists: refs/tags/{tag}")
                repo.tags[tag] = self._commit_of(repo, arg).oid
            elif method == "DELETE":  # /tag/{tag}
                if arg not in repo.tags:
                    raise _HttpError(404, f"Invalid rev id: {arg}", "RevisionNotFound")
                del repo.tags[arg]
            else:
                return False
        self._send(200, {})
        return True

    def _resolve(self, repo_type: str, repo_id: str, revision: str, filename: str) -> bool:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit_of(repo, revision)
        blob = commit.files.get(filename)
        if blob is None:
            raise _HttpError(404, f"Entry not found: {filename}", "EntryNotFound")
        data = blob.data
        headers = {"ETag": f'"{blob.etag}"', "X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
        if blob.lfs:
            headers["X-Linked-Etag"] = f'"{blob.sha256}"'
            headers["X-Linked-Size"] = str(len(data))
        status = 200
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip()) if rng else None
        if m and data:
            if m.group(1) == "":  # suffix range: last N bytes
                start, end = max(0, len(data) - int(m.group(2))), len(data) - 1
            else:
                start = int(m.group(1))
                end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            if start >= len(data):
                self._send(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})
                return True
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        self._send(status, data, headers=headers)
        return True

    # ------------------------------------------------------------------ LFS
    def _lfs_batch(self, method: str, repo_type: str, repo_id: str) -> bool:
        if method != "POST":
            return False
        self._repo(repo_type, repo_id, write=True)
        body = self._json_body()
        objects = []
        for obj in body.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            if oid in self.fake.lfs_objects:
                objects.append({"oid": oid, "size": size})
                continue
            objects.append({"oid": oid, "size": size, "authenticated": True, "actions": {
                "upload": {"href": f"{self.fake.url}/lfs-upload/{oid}", "header": {}},
                "verify": {"href": f"{self.fake.url}/lfs-verify/{oid}", "header": {}},
            }})
        self._send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                   content_type="application/vnd.git-lfs+json")
        return True

    def _route_lfs_transfer(self, method: str, segs: list[str]) -> bool:
        if len(segs) != 2:
            return False
        oid = segs[1]
        if segs[0] == "lfs-upload" and method == "PUT":
            data = self._body()
            if hashlib.sha256(data).hexdigest() != oid:
                raise _HttpError(400, "LFS upload: sha256 of the body does not match the oid")
            with self.fake._lock:
                self.fake.lfs_objects[oid] = data
            self._send(200, b"")
            return True
        if segs[0] == "lfs-verify" and method == "POST":
            if oid not in self.fake.lfs_objects:
                raise _HttpError(404, f"LFS object {oid} not found")
            self._send(200, {})
            return True
        return False


def _card_data(blob: Blob | None) -> dict:
    """YAML front matter of a README (``cardData`` in repo info), {} if none or unparseable."""
    if blob is None:
        return {}
    text = blob.data.decode("utf-8", errors="replace")
    m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not m:
        return {}
    try:
        import yaml

        data = yaml.safe_load(m.group(1))
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------------------------------------- pytest fixtures
try:
    import pytest
except ImportError:  # pragma: no cover - usable without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def fake_hub(tmp_path):
        """A started FakeHub; huggingface_hub/datasets/transformers point at it, HF_TOKEN=x, cache under tmp_path."""
        with FakeHub() as hub, hub.patched(token="x", hf_home=tmp_path / "hf_home"):
            yield hub

    @pytest.fixture
    def fake_hub_no_token(tmp_path):
        """Like ``fake_hub`` but not logged in (no HF_TOKEN, no token file)."""
        with FakeHub() as hub, hub.patched(token=None, hf_home=tmp_path / "hf_home"):
            yield hub


__all__ = ["FakeHub", "Repo", "Commit", "Blob", "git_blob_sha1", "fake_hub", "fake_hub_no_token",
           "DEFAULT_LFS_PATTERNS"]
