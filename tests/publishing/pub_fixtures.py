"""The fake-Hub fixtures (`hub`, `run_client`), shared by tests/publishing and
tests/test_cli_publish.py (which imports them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub_server import HubServer

HERE = Path(__file__).resolve().parent
TOKEN = "hf_test_token_publishing"


@pytest.fixture(scope="session")
def hub():
    """The fake Hub, running for the whole session."""
    with HubServer(token=TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def run_client(hub, tmp_path_factory):
    """Run ``hub_client.py`` (or ``python -m deita_hf.cli.main`` with ``cli=True``) against
    the fake Hub in a subprocess with HF_ENDPOINT/HF_TOKEN set and HF_HUB_OFFLINE unset.

    Returns a function ``(args, token=TOKEN, cli=False) -> (returncode, result, stderr)``;
    ``result`` is the JSON printed on the last stdout line (hub_client) or the stdout (cli).
    """
    home = tmp_path_factory.mktemp("hf_home")

    def run(args, token=TOKEN, cli=False):
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1",
               "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1",
               "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        env.pop("HF_HUB_OFFLINE", None)
        env.pop("HF_TOKEN", None)
        if token:
            env["HF_TOKEN"] = token
        cmd = ([sys.executable, "-m", "deita_hf.cli.main", *args] if cli
               else [sys.executable, str(HERE / "hub_client.py"), *args])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                              cwd=str(HERE.parents[1]))
        if cli:
            return proc.returncode, proc.stdout, proc.stderr
        lines = proc.stdout.strip().splitlines()
        result = json.loads(lines[-1]) if lines else {}
        return proc.returncode, result, proc.stderr

    return run
