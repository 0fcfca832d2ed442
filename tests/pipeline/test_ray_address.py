"""Issue 24 (h): a Ray address that cannot work is one line within seconds, before ray.init
(which retries for minutes against a port where nothing listens)."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deita_hf.errors import ConfigError
from deita_hf.pipeline.ray_address import ACTOR_RESTARTS, check_address, parse_address

REPO_ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_fails_within_seconds():
    for address in ("127.0.0.1:1", f"127.0.0.1:{_closed_port()}"):
        start = time.monotonic()
        with pytest.raises(ConfigError, match=r"nothing answers at 127\.0\.0\.1:\d+ within 5 s"):
            check_address(address)
        assert time.monotonic() - start < 6


def test_a_listening_port_and_ray_s_own_addresses_pass():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_address(f"127.0.0.1:{server.getsockname()[1]}")
    for address in (None, "auto", "local"):
        check_address(address)


@pytest.mark.parametrize("bad", ["bogus::host", "host", "host:port", "host:0", "a b:1",
                                 "ray://", "http//x:1"])
def test_malformed_addresses_are_one_line(bad):
    with pytest.raises(ConfigError, match=r"is not a Ray address: give HOST:PORT") as err:
        check_address(bad)
    assert "\n" not in str(err.value)


def test_ray_client_addresses_need_ray_client(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "grpc" else real(name, *a))
    with pytest.raises(ConfigError, match=r"Ray Client, which is not installed: pip install 'ray\[client\]'"):
        check_address("ray://127.0.0.1:10001")
    assert parse_address("ray://head:10001") == ("ray", "head", 10001)


def test_actor_restarts_are_bounded():
    assert 0 < ACTOR_RESTARTS["max_restarts"] <= 5 and 0 < ACTOR_RESTARTS["max_task_retries"] <= 5


@pytest.mark.parametrize("address", ["127.0.0.1:1", "bogus::host"])
def test_score_with_a_bad_address_is_one_line_in_seconds(tmp_path, address):
    pytest.importorskip("ray")
    pool = tmp_path / "pool.jsonl"
    pool.write_text(json.dumps({"instruction": "Hi", "output": "Hello"}) + "\n", encoding="utf-8")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "deita_hf.cli.main", "score", str(pool), "--output",
                           str(tmp_path / "out"), "--complexity-scorer", "length", "--quality-scorer",
                           "length", "--embedder", "none", "--engine", "ray", "--address", address],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert time.monotonic() - start < 60
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("deita-hf score: error: --address") \
        and "Traceback" not in proc.stderr, proc.stderr[-2000:]
