"""``deita-hf publish``: upload a selection folder to a Hub dataset repository.

Example:
    $ deita-hf publish out/deita-6k --repo-id me/my-deita-6k --private
"""

from __future__ import annotations

import argparse


def register(subparsers, parents=()) -> None:
    """Add the ``publish`` sub-command to the ``deita-hf`` parser."""
    p = subparsers.add_parser(
        "publish", parents=list(parents),
        help="push a selection folder (deita-hf select --output DIR) to a Hub dataset repo",
        description=(
            "Push a selection folder to a Hugging Face Hub dataset repository: parquet data, "
            "the dataset card with statistics and figures, and deita_selection.json. A folder "
            "without its card (data/*.parquet + deita_selection.json only) gets one first."
        ),
    )
    p.add_argument("folder", metavar="DIR", help="the selection folder")
    p.add_argument("--repo-id", required=True, help="the dataset repo, e.g. me/my-deita-6k")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--token", default=None,
                   help="Hub token with write access (default: HF_TOKEN or `hf auth login`)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the data of a repo that already holds files")
    p.add_argument("--commit-message", default=None, help="the commit's summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf publish``; returns the exit code."""
    from deita_hf.hub import push_selection

    url = push_selection(args.folder, args.repo_id, private=args.private, token=args.token,
                         overwrite=args.overwrite, commit_message=args.commit_message)
    print(f"Published {args.folder} to {url}")
    return 0
