"""Run a push or a load against the fake Hub in a fresh interpreter.

``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HUB_OFFLINE`` and
``HF_HUB_DISABLE_XET`` when they are imported, so the tests start this script as a subprocess
with the environment set (see the ``run_client`` fixture in tests/conftest.py).

Usage:
    python hub_client.py push FOLDER REPO_ID [--overwrite] [--private]
    python hub_client.py load REPO_ID OUT_DIR        # writes OUT_DIR/<config>.parquet
The last line of stdout is a JSON object with the result or the error.
"""

from __future__ import annotations

import json
import sys
import traceback


def _push(folder: str, repo_id: str, flags: list[str]) -> dict:
    from deita_hf.hub import push_selection

    url = push_selection(folder, repo_id, overwrite="--overwrite" in flags,
                         private="--private" in flags)
    return {"url": url}


def _load(repo_id: str, out_dir: str) -> dict:
    from pathlib import Path

    from datasets import get_dataset_config_names, load_dataset

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    configs = sorted(get_dataset_config_names(repo_id))
    features = {}
    for config in configs:
        ds = load_dataset(repo_id, config, split="train")
        ds.to_parquet(str(out / f"{config}.parquet"))
        features[config] = ds.features.to_dict()
    return {"configs": configs, "features": features}


def main(argv: list[str]) -> int:
    try:
        if argv[0] == "push":
            result = _push(argv[1], argv[2], argv[3:])
        elif argv[0] == "load":
            result = _load(argv[1], argv[2])
        else:
            raise SystemExit(f"unknown command {argv[0]!r}")
        print(json.dumps({"ok": True, **result}))
        return 0
    except Exception as err:  # reported to the test as JSON
        traceback.print_exc()
        print(json.dumps({"ok": False, "type": type(err).__name__, "message": str(err)}))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
