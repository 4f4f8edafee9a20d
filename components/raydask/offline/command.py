"""The ``raydask`` console script: the CLI (:mod:`raydask.offline.cli`) when its extra is installed, else one line
saying which extra to install."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError as exc:
        sys.stderr.write(f"raydask: the command needs the cli extra ({exc.name} is not installed): pip install 'raydask[cli]'\n")
        sys.exit(1)
    from raydask.offline.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
