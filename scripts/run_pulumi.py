"""Run the project's Pulumi program with the Pulumi CLI through the Automation API: an inline program, so no
``pulumi-language-python`` plugin is needed (the pull-request preview job and the live tests run it this way).

    .venv/bin/python scripts/run_pulumi.py preview --stack dev [--diff] [--policy-pack policy] [--expect-no-changes]
    .venv/bin/python scripts/run_pulumi.py up|refresh|destroy --stack dev [--expect-no-changes]

The program is ``raydask.program.main``, what ``__main__.py`` runs; the stack's config comes from ``stacks/`` as with
``pulumi up``. The CLI (``pulumi`` on PATH), the backend and credentials come from the environment
(``PULUMI_BACKEND_URL``, ``PULUMI_CONFIG_PASSPHRASE``, ``KUBECONFIG``, …). ``--policy-pack DIR`` runs the pack in DIR
as a binary analyzer (``DIR/pulumi-analyzer-raydask``), which needs no language plugin either. Exit code 0 on success,
1 when the CLI fails (its output is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml
from pulumi import automation as auto

ROOT = Path(__file__).resolve().parent.parent
ANALYZER = "pulumi-analyzer-raydask"
"""The policy pack's launcher: a binary analyzer plugin the CLI starts directly."""


def program() -> None:
    from raydask.program import main

    main()


def select_stack(stack: str, project_dir: Path = ROOT, env: dict[str, str] | None = None,
                 pulumi_home: str | None = None) -> auto.Stack:
    """The stack ``stack`` of the project in ``project_dir`` (created in the backend when new), running the program
    inline; ``env`` is passed to the CLI and the plugins it starts."""
    opts = auto.LocalWorkspaceOptions(work_dir=str(project_dir), pulumi_home=pulumi_home, env_vars=env)
    name = str(yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"])
    return auto.create_or_select_stack(stack_name=stack, project_name=name, program=program, opts=opts)


def policy_pack(directory: str) -> str:
    """The analyzer launcher inside the policy pack ``directory``."""
    launcher = Path(directory).resolve() / ANALYZER
    if not os.access(launcher, os.X_OK):
        raise SystemExit(f"{launcher}: not an executable policy pack launcher")
    return str(launcher)


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["preview", "up", "refresh", "destroy"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project", "-C", type=Path, default=ROOT, help="project directory (holding Pulumi.yaml)")
    parser.add_argument("--diff", action="store_true", help="show property-level diffs")
    parser.add_argument("--policy-pack", action="append", default=[], help="policy pack directory (repeatable)")
    parser.add_argument("--expect-no-changes", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAYDASK_PROJECT_DIR", str(args.project.resolve()))
    stack = select_stack(args.stack, args.project.resolve())
    packs = [policy_pack(p) for p in args.policy_pack] or None
    echo = {"on_output": print, "color": "never"}
    expect = args.expect_no_changes or None
    try:
        if args.command == "preview":
            stack.preview(diff=args.diff or None, policy_packs=packs, expect_no_changes=expect, **echo)
        elif args.command == "up":
            stack.up(diff=args.diff or None, policy_packs=packs, expect_no_changes=expect, **echo)
        elif args.command == "refresh":
            stack.refresh(expect_no_changes=expect, **echo)
        else:
            stack.destroy(**echo)
    except auto.errors.CommandError as exc:
        print(f"pulumi {args.command} failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run())
