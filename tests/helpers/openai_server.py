"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, for the tests (a test double).

``ScriptedOpenAIServer(responder)`` answers ``POST /v1/chat/completions``,
``POST /v1/completions`` and ``GET /v1/models`` from a ``ThreadingHTTPServer`` in a daemon
thread. ``responder(body, path)`` returns the completion text, or a :class:`Fault` to inject a
failure (an HTTP error with ``Retry-After``, a delay for timeouts, a malformed 200 body).

Example:
    >>> import json, urllib.request
    >>> from helpers.openai_server import Fault, ScriptedOpenAIServer, scripted
    >>> with ScriptedOpenAIServer(scripted("hello")) as server:
    ...     req = urllib.request.Request(server.url + "/completions", method="POST",
    ...                                  data=json.dumps({"model": "m", "prompt": "Hi"}).encode())
    ...     reply = json.load(urllib.request.urlopen(req))
    >>> reply["choices"][0]["text"], server.requests[0]["body"]["prompt"]
    ('hello', 'Hi')
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Fault", "Responder", "ScriptedOpenAIServer", "scripted"]


@dataclass(frozen=True)
class Fault:
    """A failure to inject (returned by a responder instead of a text).

    Args:
        status: HTTP status to answer with (200: a normal answer, with ``text``).
        retry_after: seconds for a ``Retry-After`` header (None: no header).
        delay: seconds to sleep before answering (longer than the client's timeout: a timeout).
        malformed: answer 200 with a body that is not JSON.
        message: the error message in an error body.
        text: the completion text when ``status`` is 200 (e.g. after a ``delay``).
    """

    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    malformed: bool = False
    message: str = "injected fault"
    text: str = ""


#: ``responder(request_body, path) -> text | Fault``
Responder = Callable[[dict, str], str | Fault]


def scripted(*answers: str | Fault) -> Responder:
    """A responder that cycles through fixed answers (texts or faults), one per request.

    Example:
        >>> r = scripted("a", "b")
        >>> [r({}, "/v1/completions") for _ in range(3)]
        ['a', 'b', 'a']
    """
    if not answers:
        raise ValueError("scripted() needs at least one answer.")
    cycle, lock = itertools.cycle(answers), threading.Lock()

    def responder(body: dict, path: str) -> str | Fault:
        with lock:
            return next(cycle)

    return responder


def _count_tokens(value: Any) -> int:
    if isinstance(value, list):
        return sum(_count_tokens(m.get("content", "") if isinstance(m, dict) else m) for m in value)
    return len(str(value).split())


class ScriptedOpenAIServer:
    """An OpenAI-compatible server that answers with what ``responder`` says (started at once).

    Attributes:
        url: the API root, ``http://HOST:PORT/v1``.
        requests: received requests, in arrival order: ``{"path", "body", "headers"}`` (``body``
            is the parsed JSON, None for a GET; header names in Title-Case).
        max_in_flight: the most requests handled at the same time so far.

    Args:
        responder: ``(body, path) -> str | Fault``; an exception in it gives an HTTP 500.
        host: interface to bind (keep the loopback default in tests).
        port: port (0: a free one).
        model_ids: model names listed by ``GET /v1/models``.
    """

    def __init__(self, responder: Responder, *, host: str = "127.0.0.1", port: int = 0,
                 model_ids: tuple[str, ...] = ("scripted",)) -> None:
        self.responder, self.model_ids = responder, tuple(model_ids)
        self.requests: list[dict[str, Any]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-openai-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedOpenAIServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, path: str, body: dict) -> tuple[int, dict[str, str], bytes]:
        if path not in ("/v1/chat/completions", "/v1/completions"):
            return 404, {}, json.dumps({"error": {"message": f"no route {path}"}}).encode()
        chat = path.endswith("chat/completions")
        if chat and not isinstance(body.get("messages"), list) or not chat and "prompt" not in body:
            field = "messages" if chat else "prompt"
            return 400, {}, json.dumps({"error": {"message": f"'{field}' is required",
                                                  "type": "invalid_request_error"}}).encode()
        try:
            answer = self.responder(body, path)
        except Exception as err:  # noqa: BLE001 - a responder bug becomes a visible 500
            return 500, {}, json.dumps({"error": {"message": f"responder failed: {err!r}"}}).encode()
        fault = answer if isinstance(answer, Fault) else Fault(text=str(answer))
        if fault.delay:
            time.sleep(fault.delay)
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        if fault.status != 200:
            return fault.status, headers, json.dumps(
                {"error": {"message": fault.message, "type": "server_error", "code": fault.status}}).encode()
        if fault.malformed:
            return 200, headers, b"<html>upstream hiccup</html>"
        prompt_tokens = _count_tokens(body.get("messages") if chat else body.get("prompt"))
        completion_tokens = _count_tokens(fault.text)
        choice = ({"index": 0, "message": {"role": "assistant", "content": fault.text}, "finish_reason": "stop"}
                  if chat else {"index": 0, "text": fault.text, "logprobs": None, "finish_reason": "stop"})
        reply = {"id": f"cmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion" if chat else "text_completion",
                 "created": int(time.time()), "model": body.get("model", self.model_ids[0]), "choices": [choice],
                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                           "total_tokens": prompt_tokens + completion_tokens}}
        return 200, headers, json.dumps(reply).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append({"path": self.path, "body": None, "headers": {k.title(): v for k, v in self.headers.items()}})
                if self.path.rstrip("/") == "/v1/models":
                    data = [{"id": m, "object": "model", "owned_by": "deita_hf"} for m in server.model_ids]
                    self._send(200, {}, json.dumps({"object": "list", "data": data}).encode())
                else:
                    self._send(404, {}, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError as err:
                    body, why = None, str(err)
                else:
                    why = "" if isinstance(body, dict) else "not a JSON object"
                if why:
                    self._send(400, {}, json.dumps({"error": {"message": f"bad JSON body: {why}"}}).encode())
                    return
                with server._lock:
                    server.requests.append({"path": self.path, "body": body, "headers": {k.title(): v for k, v in self.headers.items()}})
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    status, headers, payload = server._answer(self.path, body)
                finally:
                    with server._lock:
                        server._in_flight -= 1
                self._send(status, headers, payload)

        return Handler
