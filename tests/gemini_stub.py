"""A loopback stub of the Gemini REST API, for offline tests of the Gemini data generator.

Serves ``POST /v1beta/models/<model>:generateContent`` (and ``/v1/...``) on 127.0.0.1 with an ephemeral port, in a
daemon thread. Replies are scripted: a queue of :class:`Reply` objects (or callables ``body -> Reply``) consumed in
arrival order, then ``default`` (a Reply or callable) for every further request. Every request is recorded
(path, headers, parsed JSON body) in ``stub.requests``.

    with GeminiStub([error(429), ok([...rows...])]) as stub:
        generate_rows_gemini(..., base_url=stub.url)
        assert len(stub.requests) == 2
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union

_PATH = re.compile(r"^/(v1beta|v1|v1alpha)/models/(?P<model>[^/:]+):generateContent$")

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/json"})


def ok(payload: Any) -> Reply:
    """A successful generateContent reply whose text is ``payload`` (a str as is, anything else JSON-encoded)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    body = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 10, "totalTokenCount": 20},
        "modelVersion": "stub",
    }
    return Reply(200, json.dumps(body).encode())


def error(status: int, message: str = "scripted error") -> Reply:
    """A Google API error reply (429 RESOURCE_EXHAUSTED, 500 INTERNAL, ...)."""
    body = {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}}
    return Reply(status, json.dumps(body).encode())


Script = Union[Reply, Callable[[dict], Reply]]


class GeminiStub:
    def __init__(self, script: list[Script] | None = None, default: Script | None = None):
        self.script = list(script or [])
        self.default = default
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ helpers for tests
    @property
    def url(self) -> str:
        assert self._server is not None, "stub not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def prompts(self) -> list[str]:
        """The user prompt text of every recorded request."""
        out = []
        for r in self.requests:
            parts = [p.get("text", "") for c in r["body"].get("contents", []) for p in c.get("parts", [])]
            out.append("\n".join(parts))
        return out

    # ------------------------------------------------------------------ server
    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            item = self.script.pop(0) if self.script else self.default
        if item is None:
            return error(500, "stub script exhausted")
        return item(body) if callable(item) else item

    def start(self) -> "GeminiStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                m = _PATH.match(self.path.split("?")[0])
                with stub._lock:
                    stub.requests.append(
                        {"path": self.path, "model": m.group("model") if m else None,
                         "headers": dict(self.headers), "body": body}
                    )
                reply = stub._next_reply(body) if m else error(404, f"unknown path {self.path}")
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "GeminiStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
