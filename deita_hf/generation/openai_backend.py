"""Generation through any OpenAI-compatible server (vLLM, TGI, SGLang, llama.cpp, OpenAI...).

Requests go through the maintained ``openai`` client (its HTTP transport, timeouts, error
types and ``Retry-After`` handling), several at a time from a bounded thread pool. It works with
``HF_HUB_OFFLINE=1`` set (``huggingface_hub``'s ``InferenceClient`` refuses every request then)
and talks to loopback servers directly even when a proxy is configured. Raw prompts go to
``{base_url}/completions``, chats to ``{base_url}/chat/completions``.

Example:
    >>> from deita_hf.generation import GenerationParams, OpenAIGenerator
    >>> gen = OpenAIGenerator("http://127.0.0.1:8000", "my-model")  # a local vLLM server
    >>> gen.spec
    'openai:http://127.0.0.1:8000/v1#my-model'
    >>> gen.generate([[{"role": "user", "content": "Capital of France?"}]])  # doctest: +SKIP
    ['Paris.']
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deita_hf.errors import ConfigError, GenerationError
from deita_hf.generation.base import GenerationInput, Generator, Report, is_chat
from deita_hf.generation.params import GenerationParams

__all__ = ["OpenAIGenerator", "normalize_base_url", "request_body"]

_MAX_RETRY_AFTER_S = 600.0


def normalize_base_url(url: str) -> str:
    """The API root: no trailing slash, ``/v1`` added to a bare host, a pasted endpoint cut.

    Example:
        >>> normalize_base_url("http://127.0.0.1:8000")
        'http://127.0.0.1:8000/v1'
        >>> normalize_base_url("http://host:8000/v1/chat/completions")
        'http://host:8000/v1'
    """
    parts = urllib.parse.urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"An OpenAI-compatible base URL must start with http:// or https://, got {url!r}.")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/chat/completions").removesuffix("/completions")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path or "/v1", "", ""))


def request_body(model: str, params: GenerationParams, item: GenerationInput) -> tuple[str, dict[str, Any]]:
    """The endpoint path and JSON body of one request.

    Returns:
        (``"/chat/completions"`` or ``"/completions"``, body with ``model``, ``max_tokens``,
        ``temperature``, ``top_p``, ``seed`` (unless None), ``stop`` (unless empty) and
        ``messages`` or ``prompt``).
    """
    body: dict[str, Any] = {"model": model, "max_tokens": params.max_new_tokens,
                            "temperature": params.temperature, "top_p": params.top_p}
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    if is_chat(item):
        return "/chat/completions", {**body, "messages": [dict(m) for m in item]}
    return "/completions", {**body, "prompt": item}


def _text(payload: Any, chat: bool) -> str:
    choice = payload["choices"][0]
    text = choice["message"]["content"] if chat else choice["text"]
    if text is None:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"completion text is {type(text).__name__}")
    return text


def _server_message(err: Any) -> str:
    """The server's error message of an ``openai.APIStatusError`` (its ``error.message``, or
    ``detail``, else the raw body)."""
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        msg = inner.get("message") or inner.get("detail") if isinstance(inner, dict) else inner
        return str(msg or body)[:500]
    return str(body if body is not None else err.response.text)[:500]


class _Permanent(GenerationError):
    """A failure that retrying cannot fix (a 4xx other than 408/429)."""


class OpenAIGenerator(Generator):
    """Generate through an OpenAI-compatible HTTP server, several requests at a time.

    Each request is one call of the ``openai`` client (``chat.completions`` or
    ``completions``, ``timeout`` seconds per attempt). The client's own retries are off
    (``max_retries=0``) because one loop here retries what it does not (a malformed 200 body),
    logs every attempt and stops waiting when the run is cancelled: timeouts, connection
    errors, HTTP 408/429/5xx and malformed bodies (not JSON, no ``choices``) are retried with
    exponential backoff (``backoff * 2**attempt`` seconds, or the server's ``Retry-After`` as the
    client parses it, at most 600 s); other 4xx fail at once with the server's message.

    Args:
        base_url: API root, e.g. ``http://127.0.0.1:8000/v1`` (``/v1`` is added to a bare host).
        model: the served model name (``"model"`` in each request body).
        api_key: bearer token (default: ``$OPENAI_API_KEY``, else ``"EMPTY"``).
        max_concurrency: most requests in flight at once.
        timeout: seconds per HTTP attempt.
        max_retries: retries after the first attempt.
        backoff: first retry delay in seconds.
        request_log: JSONL file that gets one line per HTTP attempt (``time``, ``index``,
            ``attempt``, ``status``, ``latency_s``, ``error``); None: no log.
        cache_dir: folder of the generation cache; None: no cache.
    """

    backend = "openai"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, max_concurrency: int = 8,
                 timeout: float = 60.0, max_retries: int = 5, backoff: float = 1.0,
                 request_log: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None) -> None:
        if not model or not isinstance(model, str):
            raise ConfigError(f"OpenAIGenerator needs the served model name, got {model!r}.")
        super().__init__(model, cache_dir=cache_dir)
        self.base_url = normalize_base_url(base_url)
        self.spec = f"openai:{self.base_url}#{model}"
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be an integer >= 1, got {max_concurrency!r}.")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be an integer >= 0, got {max_retries!r}.")
        if not timeout > 0 or backoff < 0:
            raise ConfigError(f"timeout must be > 0 and backoff >= 0, got {timeout!r} and {backoff!r}.")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.max_concurrency, self.timeout = max_concurrency, float(timeout)
        self.max_retries, self.backoff = max_retries, float(backoff)
        self.request_log = Path(request_log) if request_log is not None else None
        self._log_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_log_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._log_lock = threading.Lock()

    def _settings(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "max_concurrency": self.max_concurrency, "timeout": self.timeout,
                "max_retries": self.max_retries, "backoff": self.backoff,
                "request_log": str(self.request_log) if self.request_log else None}

    def _client(self) -> Any:
        """An ``openai.OpenAI`` client for ``base_url`` (no proxy for a loopback host)."""
        import openai

        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        http_client = openai.DefaultHttpxClient(trust_env=False) if loopback else None
        return openai.OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout,
                             max_retries=0, http_client=http_client,
                             default_headers={"User-Agent": "deita_hf"})

    def _log(self, **record: Any) -> None:
        if self.request_log is None:
            return
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **record}
        with self._log_lock:
            self.request_log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.request_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")

    def check_reachable(self, flag: str = "--judge", timeout: float = 10.0) -> None:
        """One ``GET {base_url}/models`` before any work: an endpoint that does not answer or
        refuses the API key fails now, in one line, not after hours of other work. A server
        without ``/models`` (HTTP 404/405) is not refused; a listing without this model is
        logged as a warning (the request itself will say).

        Args:
            flag: the command-line flag named in the message.
            timeout: seconds to wait (at most the generator's own timeout).

        Raises:
            ConfigError: no connection (refused, unknown host, timeout) or HTTP 401/403.
        """
        import logging

        import openai

        url = self.base_url + "/models"
        client = self._client().with_options(timeout=min(timeout, self.timeout))
        try:
            served = [m.id for m in client.models.list()]
        except openai.APIStatusError as err:
            if err.status_code in (401, 403):
                raise ConfigError(f"{flag} {self.spec}: the server refuses the API key (HTTP "
                                  f"{err.status_code}: {_server_message(err)}); set "
                                  f"OPENAI_API_KEY or the key option.") from None
            return  # no /models route (or another answer): the server is there
        except openai.APIConnectionError as err:  # refused, unknown host, timeout
            reason = err.__cause__ or err
            raise ConfigError(f"{flag} {self.spec}: nothing answers at {url} ({reason}); check the "
                              f"URL and that the server runs.") from None
        except (ValueError, TypeError, AttributeError):
            return  # an answer that is not a model list: the server is there
        if served and self.model not in served:
            logging.getLogger(__name__).warning(
                "%s %s: the server lists %d models and not %r; the requests may fail.", flag,
                self.spec, len(served), self.model)

    def request(self, index: int, item: GenerationInput, params: GenerationParams,
                cancelled: threading.Event | None = None, client: Any = None) -> str:
        """Send one input (with retries) and return its completion text.

        Raises:
            GenerationError: a permanent failure, or the last error once retries are spent.
        """
        import openai

        path, body = request_body(self.model, params, item)
        client = client or self._client()
        endpoint = client.chat.completions if is_chat(item) else client.completions
        kwargs = {k: v for k, v in body.items()}
        for attempt in range(self.max_retries + 1):
            status, error, wait = None, None, None
            start = time.monotonic()
            try:
                response = endpoint.with_raw_response.create(**kwargs)
                status, raw = response.status_code, response.http_response.content
                try:
                    text = _text(json.loads(raw), is_chat(item))
                except (ValueError, KeyError, IndexError, TypeError) as err:
                    error = f"malformed response ({type(err).__name__}: {err}): {raw[:200]!r}"
            except openai.APIStatusError as err:
                status = err.status_code
                wait = client._parse_retry_after_header(err.response.headers)
                wait = None if wait is None else min(max(wait, 0.0), _MAX_RETRY_AFTER_S)
                error = f"HTTP {status} from {self.base_url + path}: {_server_message(err)}"
                if status < 500 and status not in (408, 429):
                    self._log(index=index, attempt=attempt + 1, status=status,
                              latency_s=round(time.monotonic() - start, 4), error=error)
                    raise _Permanent(error) from None
            except openai.APIConnectionError as err:  # timeouts, refused, reset
                cause = err.__cause__ or err
                error = f"{type(err).__name__}: {cause} ({self.base_url + path})"
            self._log(index=index, attempt=attempt + 1, status=status,
                      latency_s=round(time.monotonic() - start, 4), error=error)
            if error is None:
                return text
            if attempt == self.max_retries:
                break
            delay = wait if wait is not None else self.backoff * 2 ** attempt
            if cancelled is not None and cancelled.wait(delay):
                raise GenerationError(f"cancelled after: {error}")
            if cancelled is None:
                time.sleep(delay)
        raise GenerationError(f"{error} (gave up after {self.max_retries + 1} attempts)")

    def _run(self, jobs: list[tuple[int, GenerationInput]], params: GenerationParams, report: Report) -> None:
        cancelled = threading.Event()
        client = self._client()
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(jobs)),
                                  thread_name_prefix="deita-openai")
        try:
            futures = {pool.submit(self.request, index, item, params, cancelled, client): index
                       for index, item in jobs}
            for future in as_completed(futures):
                try:
                    text = future.result()
                except GenerationError as err:
                    report(futures[future], error=err)
                else:
                    report(futures[future], text)
        finally:
            cancelled.set()  # no-op when all finished; else stop retries and queued requests
            pool.shutdown(wait=True, cancel_futures=True)
            client.close()
