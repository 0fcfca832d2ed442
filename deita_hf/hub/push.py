"""Push a selection folder to a Hugging Face Hub dataset repository.

The upload is one ``HfApi.upload_folder(..., delete_patterns=...)`` commit; the URL returned
is built from the configured endpoint (``HF_ENDPOINT``).

Example:
    >>> from deita_hf.hub import push_selection
    >>> push_selection("out/deita-6k", "me/my-deita-6k", private=True)   # doctest: +SKIP
    'https://huggingface.co/datasets/me/my-deita-6k'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from deita_hf.errors import (
    ConfigError,
    MissingTokenError,
    PublishError,
    RepoNotEmptyError,
)
from deita_hf.folder.selection import (
    DATA_DIR,
    EMBEDDINGS_CONFIG,
    FIGURES_DIR,
    POOL_DIR,
    SELECTION_FILE,
    complete_folder,
)

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["MissingTokenError", "RepoNotEmptyError", "push_selection"]

#: repo folders that a new upload replaces as a whole (stale shards would break the configs)
_REPLACED_DIRS = (DATA_DIR, EMBEDDINGS_CONFIG, POOL_DIR, FIGURES_DIR)


def _resolve_token(token: str | None) -> str:
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise MissingTokenError(
            "No Hugging Face token found. Log in with `hf auth login`, set the HF_TOKEN "
            "environment variable, or pass token=... (--token) with a token that can write."
        )
    return found


def _layout_files(root: Path) -> list[str]:
    files = []
    for name in ("README.md", SELECTION_FILE):
        if (root / name).is_file():
            files.append(name)
    for folder in _REPLACED_DIRS:
        paths = sorted((root / folder).rglob("*"))
        files.extend(p.relative_to(root).as_posix() for p in paths if p.is_file())
    return files


def _card_for_repo(root: Path, repo_id: str) -> bytes:
    """The README with the usage snippet pointing at ``repo_id`` instead of the local folder."""
    text = (root / "README.md").read_text(encoding="utf-8")
    settings = json.loads((root / SELECTION_FILE).read_text(encoding="utf-8"))
    local_id = (settings.get("publishing") or {}).get("dataset_id")
    if local_id:
        text = text.replace(f'load_dataset("{local_id}"', f'load_dataset("{repo_id}"')
    return text.encode("utf-8")


def push_selection(folder: str | os.PathLike, repo_id: str, *, private: bool = False,
                   token: str | None = None, overwrite: bool = False,
                   commit_message: str | None = None) -> str:
    """Upload a selection folder (see :func:`save_selection`) as a Hub dataset repository.

    A folder without its card (a plain ``deita-hf select`` output) gets its card and figures
    first. Only the layout's files are uploaded (``README.md``, ``deita_selection.json``,
    ``data/``, ``pool/``, ``figures/``).

    Args:
        folder: the selection folder.
        repo_id: ``"user/name"`` of the dataset repository (created if missing).
        private: create the repository as private (ignored when it exists).
        token: a Hub token with write access; default: ``huggingface_hub.get_token()``
            (``HF_TOKEN`` or ``hf auth login``).
        overwrite: allow replacing the files of a repository that already holds some; the
            repository's ``data/``, ``pool/`` and ``figures/`` are then replaced as a whole.
        commit_message: the commit's summary.

    Returns:
        The repository's URL, on the configured endpoint (``HF_ENDPOINT``).

    Raises:
        MissingTokenError: no token passed or found.
        PublishError: huggingface_hub is offline (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``
            set; the message names which).
        RepoNotEmptyError: the repository holds files and ``overwrite`` is False.

    Example:
        push_selection("out/deita-6k", "me/my-deita-6k")
    """
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError

    if constants.HF_HUB_OFFLINE:
        from deita_hf.runtime import offline_reason

        reason = offline_reason("hub") or (
            "huggingface_hub was imported in offline mode (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE "
            "was set then)")
        raise PublishError(
            f"{reason}, so nothing can be pushed. Unset the variable, or run with "
            f"HF_HUB_OFFLINE=0, which huggingface_hub reads first (e.g. `HF_HUB_OFFLINE=0 "
            f"deita-hf publish ...`)."
        )
    if "/" not in repo_id:
        raise ConfigError(f"repo_id must look like 'user/name', got {repo_id!r}.")
    token = _resolve_token(token)
    root = complete_folder(folder)
    api = HfApi(token=token)
    try:
        return _push(api, root, repo_id, private=private, overwrite=overwrite,
                     commit_message=commit_message)
    except (RepoNotEmptyError, MissingTokenError):
        raise
    except Exception as err:  # connection refused, DNS, timeouts, HTTP errors
        if not (isinstance(err, (OSError, HfHubHTTPError)) or _is_network_error(err)):
            raise
        raise PublishError(f"Could not push {str(root)!r} to the dataset repo {repo_id!r}: "
                           f"{type(err).__name__}: {err}. Check the network, HF_ENDPOINT and that "
                           f"the token may write to {repo_id!r}.") from err


#: packages whose exceptions are network failures (huggingface_hub's HTTP clients)
_NETWORK_PACKAGES = ("httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3", "ssl",
                     "socket")


def _is_network_error(err: BaseException) -> bool:
    """True for an exception of the HTTP stack (``httpx.ConnectError`` is no ``OSError``)."""
    return any(cls.__module__.split(".")[0] in _NETWORK_PACKAGES for cls in type(err).__mro__)


def _staged(root: Path, repo_id: str, tmp: Path) -> Path:
    """The layout's files in ``tmp`` (hard links, copies across file systems) with the card
    pointing at ``repo_id``: the folder ``upload_folder`` uploads."""
    import shutil

    for path in _layout_files(root):
        dst = tmp / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        if path == "README.md":
            dst.write_bytes(_card_for_repo(root, repo_id))
            continue
        try:
            os.link(root / path, dst)
        except OSError:
            shutil.copy2(root / path, dst)
    return tmp


def _push(api: HfApi, root: Path, repo_id: str, *, private: bool, overwrite: bool,
          commit_message: str | None) -> str:
    """One ``HfApi.upload_folder`` commit: the layout's files, and ``delete_patterns`` removing
    the repository's stale ``data/``, ``pool/`` and ``figures/`` files."""
    import tempfile

    from deita_hf import __version__

    if api.repo_exists(repo_id, repo_type="dataset"):
        existing = [f for f in api.list_repo_files(repo_id, repo_type="dataset")
                    if f != ".gitattributes"]
        if existing and not overwrite:
            shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
            raise RepoNotEmptyError(
                f"The dataset repo {repo_id!r} already holds {len(existing)} file(s) ({shown}). "
                f"Pass overwrite=True (--overwrite) to replace its data, or choose another repo id."
            )
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".deita-push-", dir=_stage_parent(root)) as tmp:
        api.upload_folder(
            repo_id=repo_id, repo_type="dataset", folder_path=_staged(root, repo_id, Path(tmp)),
            commit_message=commit_message or f"Upload DEITA selection (deita_hf {__version__})",
            delete_patterns=[f"{folder}/*" for folder in _REPLACED_DIRS],
        )
    return str(url)


def _stage_parent(root: Path) -> str | None:
    """Beside the folder when writable (hard links need the same file system), else the
    system's temporary folder."""
    return str(root.parent) if os.access(root.parent, os.W_OK) else None
