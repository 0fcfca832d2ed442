"""Project-wide test set-up: offline Hub, calm OpenMP, the bundled test data, the tiny models
and the fake Hub.

Everything here works from a bare clone: real rows come from ``tests/data`` (small,
permissively licensed samples; see ``tests/data/LICENSE.md``), models are built offline.
Row builders shared by several folders live in ``tests/sample_data.py`` (``import sample_data``).
"""

import os

# Set before any test module imports huggingface_hub / torch.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from sample_data import DOLLY, SHAREGPT, TEST_DATA, read_jsonl  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
HUB_TOKEN = "hf_test_token_publishing"


@pytest.fixture(scope="session")
def test_data() -> Path:
    """``tests/data``: the bundled real rows (see its LICENSE.md for sources and licences)."""
    return TEST_DATA


# --- real rows --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def dolly_rows() -> list[dict]:
    """24 real Dolly rows (instruction/category/input/output; ``input`` may be empty)."""
    return read_jsonl(DOLLY, 24)


@pytest.fixture(scope="session")
def multi_turn_rows() -> list[dict]:
    """Real ShareGPT-format conversations (two turns in the first)."""
    return read_jsonl(SHAREGPT, 4)


@pytest.fixture(scope="session")
def pool_file(tmp_path_factory, dolly_rows) -> str:
    """20 real Dolly rows as a JSON Lines file."""
    path = tmp_path_factory.mktemp("pool") / "pool.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for row in dolly_rows[:20]:
            fh.write(json.dumps(row) + "\n")
    return str(path)


# --- tiny models (built offline) --------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_chat_llama(tmp_path_factory, dolly_rows) -> str:
    """A tiny random LLaMA WITH a chat template, whose LM head is scaled ×40 so that scorer
    scores spread over 1..6 (for the scoring, embedding and pipeline tests)."""
    import torch
    from transformers import AutoModelForCausalLM

    from deita_hf.testing import VICUNA_STYLE_TEMPLATE, build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in dolly_rows]
    path = build_tiny_llama(tmp_path_factory.mktemp("tiny") / "llama", texts=texts,
                            chat_template=VICUNA_STYLE_TEMPLATE)
    model = AutoModelForCausalLM.from_pretrained(path)
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    model.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_base_llama(tmp_path_factory) -> Path:
    """A random tiny LLaMA + BPE tokenizer trained on real rows, saved WITHOUT a chat template
    (a base model, for the training recipes)."""
    from deita_hf.testing import build_tiny_llama

    texts = [r["instruction"] + " " + r["output"] for r in read_jsonl(DOLLY, 200)]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), texts=texts)


# --- the fake Hub -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def hub():
    """The fake Hub (helpers.hub_server), running for the whole session."""
    from helpers.hub_server import HubServer

    with HubServer(token=HUB_TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def run_client(hub, tmp_path_factory):
    """Run ``tests/hub/hub_client.py`` (or ``python -m deita_hf.cli.main`` with ``cli=True``)
    against the fake Hub in a subprocess with HF_ENDPOINT/HF_TOKEN set and HF_HUB_OFFLINE unset.

    Returns a function ``(args, token=HUB_TOKEN, cli=False) -> (returncode, result, stderr)``;
    ``result`` is the JSON printed on the last stdout line (hub_client) or the stdout (cli).
    """
    from helpers.hub_server import client_env

    home = tmp_path_factory.mktemp("hf_home")
    client = Path(__file__).resolve().parent / "hub" / "hub_client.py"

    def run(args, token=HUB_TOKEN, cli=False):
        env = client_env(hub, token=token, hf_home=home)
        cmd = ([sys.executable, "-m", "deita_hf.cli.main", *args] if cli
               else [sys.executable, str(client), *args])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                              cwd=str(REPO_ROOT))
        if cli:
            return proc.returncode, proc.stdout, proc.stderr
        lines = proc.stdout.strip().splitlines()
        result = json.loads(lines[-1]) if lines else {}
        return proc.returncode, result, proc.stderr

    return run


@pytest.fixture
def openai_server():
    """``openai_server(responder) -> ScriptedOpenAIServer`` on 127.0.0.1; every server started
    through it stops at teardown."""
    from helpers.openai_server import ScriptedOpenAIServer

    servers = []

    def start(responder):
        server = ScriptedOpenAIServer(responder)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
