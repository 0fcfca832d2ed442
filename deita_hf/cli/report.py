"""``deita-hf report``: a Markdown or HTML report of a selection folder.

Example:
    $ deita-hf report out/deita-6k --format html --output deita-6k.html
"""

from __future__ import annotations

import argparse


def register(subparsers, parents=()) -> None:
    """Add the ``report`` sub-command to the ``deita-hf`` parser."""
    p = subparsers.add_parser(
        "report", parents=list(parents),
        help="write the statistics and figures of a selection folder as Markdown or HTML",
        description=(
            "Render the selection's settings, pool-vs-selection statistics, figures and example "
            "rows (the same as the dataset card) for a selection that is not published."
        ),
    )
    p.add_argument("folder", metavar="DIR", help="the selection folder")
    p.add_argument("--format", choices=("md", "html"), default="md",
                   help="md (figures written next to it) or html (self-contained); default md")
    p.add_argument("--output", default=None, help="the report file (default: DIR/report.FORMAT)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``deita-hf report``; returns the exit code."""
    from deita_hf.hub import render_report

    path = render_report(args.folder, format=args.format, output=args.output)
    print(f"Wrote {path}")
    return 0
