"""OpenAIGenerator against ScriptedOpenAIServer on 127.0.0.1, with HF_HUB_OFFLINE=1 set:
request bodies, retries (timeout, 429 + Retry-After, malformed body, 5xx), permanent errors,
bounded concurrency, the request log and the cache."""

import json
import os
import threading
import time

import pytest

from deita_hf.errors import ConfigError, GenerationError
from deita_hf.generation import GenerationParams, OpenAIGenerator
from helpers.openai_server import Fault, ScriptedOpenAIServer, scripted

FAST = {"timeout": 2.0, "backoff": 0.01, "max_retries": 3}
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]


@pytest.fixture
def server():
    with ScriptedOpenAIServer(scripted("ok")) as s:
        yield s


def bodies(server):
    return [r["body"] for r in server.requests]


def test_chat_and_completion_bodies(server, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    gen = OpenAIGenerator(server.url, "my-model", **FAST)
    params = GenerationParams(max_new_tokens=7, temperature=0.5, top_p=0.9, seed=3, stop=("###",))
    assert gen.generate([CHAT, "Complete: 1 2 3"], params, progress=False) == ["ok", "ok"]
    by_path = {r["path"]: r for r in server.requests}
    chat, completion = by_path["/v1/chat/completions"], by_path["/v1/completions"]
    common = {"model": "my-model", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "seed": 3, "stop": ["###"]}
    assert chat["body"] == {**common, "messages": CHAT}
    assert completion["body"] == {**common, "prompt": "Complete: 1 2 3"}
    assert chat["headers"]["Authorization"] == "Bearer sk-test"
    # sent by the maintained openai client (its own headers), not a hand-written HTTP client
    import openai

    assert chat["headers"]["X-Stainless-Package-Version"] == openai.__version__
    gen.generate(["x"], GenerationParams(seed=None), progress=False)
    last = server.requests[-1]["body"]
    assert "seed" not in last and "stop" not in last and last["temperature"] == 0.0


def test_empty_completion_and_stop_cut():
    with ScriptedOpenAIServer(scripted("", "keep###drop")) as server:
        gen = OpenAIGenerator(server.url, "m", max_concurrency=1, **FAST)
        out = gen.generate(["a", "b"], GenerationParams(stop=("###",)), progress=False)
    assert out == ["", "keep"]


def test_timeout_then_success():
    with ScriptedOpenAIServer(scripted(Fault(delay=1.0, text="late"), "ok")) as server:
        gen = OpenAIGenerator(server.url, "m", timeout=0.2, backoff=0.01, max_retries=2)
        assert gen.generate(["q"], progress=False) == ["ok"]
        assert len(server.requests) == 2


def test_429_retry_after_is_honoured(tmp_path):
    log = tmp_path / "requests.jsonl"
    with ScriptedOpenAIServer(scripted(Fault(status=429, retry_after=0.05), "ok")) as server:
        gen = OpenAIGenerator(server.url, "m", timeout=2.0, backoff=30.0, max_retries=2, request_log=log)
        start = time.monotonic()
        assert gen.generate(["q"], progress=False) == ["ok"]
        assert time.monotonic() - start < 5  # waited Retry-After (0.05 s), not the 30 s backoff
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["index"], x["attempt"], x["status"]) for x in lines] == [(0, 1, 429), (0, 2, 200)]
    assert "429" in lines[0]["error"] and lines[1]["error"] is None
    assert set(lines[0]) == {"time", "index", "attempt", "status", "latency_s", "error"}


@pytest.mark.parametrize("fault", [Fault(malformed=True), Fault(status=500), Fault(status=503)])
def test_malformed_and_5xx_are_retried(fault):
    with ScriptedOpenAIServer(scripted(fault, "ok")) as server:
        assert OpenAIGenerator(server.url, "m", **FAST).generate([CHAT], progress=False) == ["ok"]
        assert len(server.requests) == 2


def test_missing_choices_is_retried_then_gives_up():
    def responder(body, path):
        return Fault(malformed=True)

    with ScriptedOpenAIServer(responder) as server:
        gen = OpenAIGenerator(server.url, "m", timeout=1.0, backoff=0.001, max_retries=2)
        with pytest.raises(GenerationError, match=r"input 0 failed: malformed.*after 3 attempts"):
            gen.generate(["q"], progress=False)
        assert len(server.requests) == 3


def bad_second(body, path):
    text = body.get("prompt") or body["messages"][-1]["content"]
    return Fault(status=400, message="prompt too long") if text == "bad" else f"echo {text}"


def test_permanent_400_fails_at_once():
    with ScriptedOpenAIServer(bad_second) as server:
        gen = OpenAIGenerator(server.url, "m", max_concurrency=1, **FAST)
        with pytest.raises(GenerationError, match=r"input 1 failed: HTTP 400.*prompt too long"):
            gen.generate(["a", "bad", "c"], progress=False)
        assert sum(r["body"]["prompt"] == "bad" for r in server.requests) == 1  # no retry
        n = len(server.requests)
        with pytest.warns(RuntimeWarning, match=r"1 of 3 generations failed.*input 1"):
            out = gen.generate(["a", "bad", "c"], progress=False, on_error="none")
        assert out == ["echo a", None, "echo c"] and len(server.requests) == n + 3


def test_concurrency_is_bounded():
    def slow(body, path):
        time.sleep(0.05)
        return body["prompt"].upper()

    with ScriptedOpenAIServer(slow) as server:
        gen = OpenAIGenerator(server.url, "m", max_concurrency=3, **FAST)
        prompts = [f"p{i}" for i in range(18)]
        assert gen.generate(prompts, progress=False) == [p.upper() for p in prompts]
        assert 2 <= server.max_in_flight <= 3


def test_cache_rerun_sends_nothing_and_failures_are_not_cached(tmp_path):
    with ScriptedOpenAIServer(bad_second) as server:
        gen = OpenAIGenerator(server.url, "m", cache_dir=tmp_path, **FAST)
        with pytest.warns(RuntimeWarning):
            first = gen.generate(["a", "bad", [{"role": "user", "content": "c"}]], progress=False, on_error="none")
        assert first == ["echo a", None, "echo c"] and len(server.requests) == 3
        again = OpenAIGenerator(server.url, "m", cache_dir=tmp_path, **FAST)
        assert again.generate(["a", [{"role": "user", "content": "c"}]], progress=False) == ["echo a", "echo c"]
        assert len(server.requests) == 3  # zero new requests
        with pytest.warns(RuntimeWarning):
            again.generate(["bad"], progress=False, on_error="none")
        assert len(server.requests) == 4  # the failure was not cached
        assert len(again.cache) == 2


def test_raise_stops_the_remaining_work():
    calls = []
    lock = threading.Lock()

    def responder(body, path):
        with lock:
            calls.append(body["prompt"])
        return Fault(status=401, message="bad key") if body["prompt"] == "p0" else "ok"

    with ScriptedOpenAIServer(responder) as server:
        gen = OpenAIGenerator(server.url, "m", max_concurrency=1, **FAST)
        with pytest.raises(GenerationError, match="input 0 failed: HTTP 401.*bad key"):
            gen.generate([f"p{i}" for i in range(50)], progress=False)
        assert len(calls) < 5


def test_url_forms_describe_and_errors(server):
    base = server.url[: -len("/v1")]
    for url in (base, base + "/", server.url + "/", server.url + "/chat/completions"):
        gen = OpenAIGenerator(url, "m", api_key="secret")
        assert gen.base_url == server.url and gen.generate(["x"], progress=False) == ["ok"]
    info = gen.describe()
    assert info["backend"] == "openai" and info["spec"] == f"openai:{server.url}#m"
    assert "secret" not in json.dumps(info)
    with pytest.raises(ConfigError, match="http"):
        OpenAIGenerator("127.0.0.1:8000", "m")
    with pytest.raises(ConfigError, match="max_concurrency"):
        OpenAIGenerator(server.url, "m", max_concurrency=0)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_connection_refused_is_retried_then_fails():
    with ScriptedOpenAIServer(scripted("ok")) as server:
        url = server.url
    gen = OpenAIGenerator(url, "m", timeout=0.5, backoff=0.001, max_retries=1)
    with pytest.raises(GenerationError, match="input 0 failed.*after 2 attempts"):
        gen.generate(["q"], progress=False)


def test_server_models_endpoint_and_404(server):
    import urllib.error
    import urllib.request

    models = json.load(urllib.request.urlopen(server.url + "/models"))
    assert models["data"][0]["id"] == "scripted"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(server.url + "/nothing")


def test_check_reachable_names_a_refused_key_and_a_dead_url():
    """The probe before any work: HTTP 401 on GET /models is a refused key, a closed port is
    nothing answering; a server without /models (404) is accepted."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from deita_hf.errors import ConfigError
    from deita_hf.generation import OpenAIGenerator

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            code = 401 if self.path.startswith("/locked/") else 404
            body = b'{"error": {"message": "bad key"}}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        with pytest.raises(ConfigError, match=r"refuses the API key \(HTTP 401: bad key\)"):
            OpenAIGenerator(f"http://127.0.0.1:{port}/locked/v1", "m").check_reachable()
        OpenAIGenerator(f"http://127.0.0.1:{port}/open/v1", "m").check_reachable()  # 404: fine
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(ConfigError, match="nothing answers at"):
        OpenAIGenerator(f"http://127.0.0.1:{closed}/v1", "m").check_reachable(timeout=5)
