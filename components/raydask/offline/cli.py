"""``raydask``: render, validate, diff and plan a stack offline (no cluster, no Pulumi CLI).

Every command runs the Pulumi program (``raydask.program.main``, what ``pulumi up`` runs) under the mock engine
with ``stacks/Pulumi.<STACK>.yaml``. Exit codes: 0 all well, 1 findings or a render failure, 2 bad configuration or
usage.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.tree import Tree

    from raydask.offline.render import Rendering

# The Pulumi program, the models and the validators load only when a command runs: --help and --version stay fast.

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="raydask",
    help="Render, validate, diff and plan raydask stacks offline: the Pulumi program under mocks, Helm releases "
    "expanded with `helm template`, checked against the real CRD schemas and consumers. Exit codes: 0 all well, "
    "1 findings or a render failure, 2 bad configuration or usage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)

StackArg = Annotated[str, typer.Argument(help="Stack name: renders stacks/Pulumi.<STACK>.yaml.", show_default=False,
                                         metavar="STACK")]
ProjectOpt = Annotated[
    Path | None,
    typer.Option("--project", "-C", help="Project directory (holding Pulumi.yaml); default $RAYDASK_PROJECT_DIR or the "
                 "nearest directory with Pulumi.yaml.", file_okay=False, metavar="DIR"),
]


def version() -> str:
    """raydask's version and the operator versions it installs by default."""
    import importlib.metadata

    from raydask.spec.versions import DASK_OPERATOR_VERSION, DASK_VERSION, DEFAULT_RAY_VERSION, KUBERAY_VERSION

    try:
        own = importlib.metadata.version("raydask")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        own = "unknown"
    return (f"raydask {own} (defaults: KubeRay {KUBERAY_VERSION}, Ray {DEFAULT_RAY_VERSION}, Dask operator "
            f"{DASK_OPERATOR_VERSION}, Dask {DASK_VERSION})")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(version())
        raise typer.Exit(0)


@app.callback()
def _main(
    show_version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_version_callback,
                                               is_eager=True, metavar="")] = False,
) -> None:
    """Render, validate, diff and plan raydask stacks offline."""


@contextmanager
def _progress(message: str) -> Iterator[None]:
    """Say what a long step is doing, on stderr: a spinner on a terminal, one line otherwise (CI logs)."""
    console = _err()
    if console.is_terminal:
        with console.status(escape(message)):
            yield
    else:
        console.print(f"raydask: {escape(message)}", soft_wrap=True)
        yield


def _render(stack: str, project: Path | None) -> Rendering:
    """Render ``stack``, saying so on stderr."""
    from raydask.offline import render as rnd

    root = rnd.project_root(project)
    with _progress(f"rendering stack {stack} (the Pulumi program under the mock engine, Helm charts expanded)…"):
        return rnd.render_stack(stack, root)


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


WIDE = 200
"""Console width when output is not a terminal (CI logs, pipes): long paths and messages stay on one line."""


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=WIDE)
    return console


def _out() -> Console:
    return _console()


def _err() -> Console:
    return _console(stderr=True)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn render failures into a one-paragraph error and an exit code: 2 for bad configuration, 1 otherwise."""
    from raydask.offline.render import NoProjectError, RenderError, StackConfigError

    try:
        yield
    except (StackConfigError, NoProjectError) as exc:
        _err().print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (RenderError, FileNotFoundError) as exc:
        _err().print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None


# ---------------------------------------------------------------------------------------------------------------
# render
# ---------------------------------------------------------------------------------------------------------------


def summary_tree(rendering: Rendering, out: Path | None, include_crds: bool) -> Tree:
    """Stack → components → objects (Helm releases with what they expand to; CRDs by name and version)."""
    from rich.tree import Tree

    from raydask.offline import render as rnd

    helm = sum(len(r.objects) for r in rendering.releases)
    where = f" → {out}" if out else ""
    root = Tree(f"[bold]stack {escape(rendering.stack)}[/]{escape(where)}: {len(rendering.objects)} objects "
                f"({helm} from Helm), {len(rendering.crds)} CRDs {'written' if include_crds else 'listed in ' + rnd.INDEX}")
    nodes: dict[str | None, Tree] = {None: root}
    for o in rendering.objects:
        if o.component is None and o.release is None:
            root.add(f"{escape(o.ref)} [dim]{escape(o.path)}[/]")
    pending = list(rendering.components)
    while pending:  # parents first, declaration order kept
        progress = [c for c in pending if c[1] in nodes]
        for label, parent in progress:
            nodes[label] = nodes[parent].add(f"[bold cyan]{escape(label)}[/]")
        pending = [c for c in pending if c not in progress]
        if not progress:
            for label, _ in pending:
                nodes[label] = root.add(f"[bold cyan]{escape(label)}[/]")
            break

    def leaf(o: rnd.RenderedObject) -> str:
        return f"{escape(o.ref)} [dim]{escape(o.path)}[/]"

    for crd in rendering.crds:
        note = "" if include_crds else " [dim](not written; --include-crds)[/]"
        nodes.get(crd.component, root).add(f"CRD {escape(crd.name)} [green]{escape(rnd.crd_version(crd.manifest))}[/]{note}")
    releases = {r.resource: r for r in rendering.releases}
    release_nodes: dict[str, Tree] = {}
    for o in rendering.objects:
        node = nodes.get(o.component, root)
        if o.release is None:
            if o.component is not None:
                node.add(leaf(o))
            continue
        if o.resource not in release_nodes:
            r = releases[o.resource]
            flags = "skipCrds" if r.skip_crds else "with CRDs"
            release_nodes[o.resource] = node.add(
                f"helm release [bold]{escape(r.name)}[/]: chart {escape(r.chart)} [green]{escape(r.version)}[/] "
                f"in {escape(r.namespace)} ({flags}, {len(r.objects)} objects)")
        release_nodes[o.resource].add(leaf(o))
    return root


@app.command(
    "render",
    short_help="Render STACK to one YAML file per object, Helm releases expanded.",
    help="Render STACK to one YAML file per object: <namespace>/<kind>-<name>.yaml, _cluster/ for cluster-scoped "
    "objects, Helm releases expanded with `helm template` of the pinned local chart, and index.yaml (where each object "
    "comes from, releases, CRD names and versions, stack outputs). CRDs are written to _crds/ only with --include-crds.",
)
def render_cmd(
    stack: StackArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory; default out/<STACK> in the project.",
                                             metavar="DIR")] = None,
    include_crds: Annotated[bool, typer.Option("--include-crds", help="Also write the CRDs (megabytes) to _crds/.",
                                               metavar="")] = False,
    project: ProjectOpt = None,
) -> None:
    """Render a stack to a directory and print a summary tree."""
    from raydask.offline import render as rnd

    with _errors():
        rendering = _render(stack, project)
        target = out or rnd.project_root(project) / "out" / stack
        rnd.write(rendering, target, include_crds)
    _out().print(summary_tree(rendering, target, include_crds))
    _placeholder_note(rendering)


def _placeholder_note(rendering: Rendering) -> None:
    """Say which rendered objects hold placeholders where ``pulumi up`` puts Pulumi secrets."""
    from raydask.offline.render import PLACEHOLDER

    for ref, keys in rendering.placeholder_keys().items():
        which = " and ".join(keys)
        _err().print(f"note: stack {escape(rendering.stack)}: {escape(ref)} holds the placeholder '{PLACEHOLDER}' where pulumi "
                     f"up puts the Pulumi secret{'s' if len(keys) > 1 else ''} {escape(which)}: an offline render never "
                     "decrypts secrets, so pulumi up needs the real value"
                     f"{'s' if len(keys) > 1 else ''} (`pulumi config set --secret {escape(keys[0])} <value>`)", soft_wrap=True)


# ---------------------------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------------------------


def finding_line(rendering: Rendering, finding: Any) -> str:
    """One finding on one line: object, path, rule and check, then where it comes from (file, who declared it)."""
    obj = rendering.find(finding.obj)
    where = f" ({obj.path}, from {obj.origin})" if obj else ""
    return " ".join(f"{finding}{where}".split())


def validate_rendering(rendering: Rendering) -> list[Any]:
    """Every finding of the validators on every object of the rendering (CRDs and Helm output included)."""
    from raydask.offline.validation import validate_objects

    return list(validate_objects(rendering.manifests(include_crds=True), kubernetes_version=rendering.kubernetes_version))


@app.command(
    "validate",
    short_help="Render and validate stacks against the real schemas and consumers.",
    help="Render each STACK (default: every stack of the project) and validate every object, Helm output and CRDs "
    "included: CRD schemas (with pruning), Kubernetes strict schemas for the stack's raydask:kubernetesVersion, the Ray "
    "autoscaler, the Dask operator's expansion and cross-references. Prints one line per finding and a summary of "
    "every stack; exit 2 when a stack's configuration is invalid, else 1 on any finding.",
)
def validate_cmd(
    stacks: Annotated[list[str] | None, typer.Argument(help="Stack name(s); default every stacks/Pulumi.<STACK>.yaml.",
                                                       show_default=False, metavar="STACKS")] = None,
    project: ProjectOpt = None,
) -> None:
    """Validate stacks; every stack is checked whatever happens to the others."""
    from raydask.offline import render as rnd
    from raydask.offline.render import RenderError, StackConfigError
    from raydask.offline.validation import missing_validators

    out, err = _out(), _err()
    if missing := missing_validators():
        err.print("[bold red]error:[/] " + escape(f"raydask validate runs the validators, which are not installed "
                                                  f"({', '.join(missing)}): pip install 'raydask[validate]' (in a checkout: "
                                                  "bash scripts/setup.sh --validate)"), soft_wrap=True)
        raise typer.Exit(2)
    with _errors():
        root = rnd.project_root(project)
    names = list(stacks or rnd.stack_names(root))
    if not names:
        err.print(f"[bold red]error:[/] no stacks in {escape(str(rnd.stack_config_dir(root)))} (no Pulumi.<stack>.yaml)")
        raise typer.Exit(2)
    summary: list[tuple[str, str, int]] = []
    for stack in names:
        try:
            rendering = _render(stack, root)
            with _progress(f"validating stack {stack} ({len(rendering.objects) + len(rendering.crds)} objects)…"):
                findings = validate_rendering(rendering)
        except (StackConfigError, rnd.NoProjectError) as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            summary.append((stack, "invalid configuration", 2))
            continue
        except (RenderError, FileNotFoundError) as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            summary.append((stack, "chart missing" if isinstance(exc, rnd.ChartMissingError) else "render failed", 1))
            continue
        if findings:
            out.print(f"[bold red]✗[/] stack {escape(stack)}: {len(findings)} finding(s)", soft_wrap=True)
            for f in findings:
                out.print(f"  {escape(finding_line(rendering, f))}", soft_wrap=True, highlight=False)
                err.print(f"stack {escape(stack)}: {escape(' '.join(str(f).split()))}", soft_wrap=True)
            summary.append((stack, f"{len(findings)} finding(s)", 1))
        else:
            helm = sum(len(r.objects) for r in rendering.releases)
            out.print(f"[green]✓[/] stack {escape(stack)}: {len(rendering.objects) + len(rendering.crds)} objects valid "
                      f"({helm} from Helm, {len(rendering.crds)} CRDs; Kubernetes {escape(rendering.kubernetes_version)})",
                      soft_wrap=True)
            summary.append((stack, "valid", 0))
        _placeholder_note(rendering)
    if len(summary) > 1:
        out.print("summary: " + ", ".join(f"{escape(name)} {'✓' if code == 0 else '✗'} {what}" for name, what, code in summary),
                  soft_wrap=True)
    code = max(c for _, _, c in summary)
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------------------------------------------------------
# diff
# ---------------------------------------------------------------------------------------------------------------


@app.command(
    "diff",
    short_help="Per-object diff between a previous render directory and STACK now.",
    help="Render STACK and compare it object by object with a previous `raydask render` directory (--against): unified "
    "diffs grouped as added / changed / removed, plus CRD versions, Helm releases and stack outputs from index.yaml. "
    "--format markdown writes a pull-request comment.",
)
def diff_cmd(
    stack: StackArg,
    against: Annotated[Path, typer.Option("--against", help="A previous `raydask render` directory of this stack.",
                                          show_default=False, file_okay=False, metavar="DIR")],
    fmt: Annotated[DiffFormat, typer.Option("--format", help="text, or markdown for a pull-request comment.")] = DiffFormat.text,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when there are differences (like git diff).",
                                            metavar="")] = False,
    max_chars: Annotated[int, typer.Option("--max-chars", help="Markdown: cut diffs beyond this many characters.",
                                           metavar="N")] = 60_000,
    project: ProjectOpt = None,
) -> None:
    """Diff a stack against a previous render."""
    from raydask.offline import diff
    from raydask.offline import render as rnd

    with _errors():
        project = rnd.project_root(project)
    problem = against_problem(stack, against)
    if problem:
        _err().print(f"[bold red]error:[/] stack {escape(stack)}: --against {escape(str(against))} {escape(problem)}", soft_wrap=True)
        raise typer.Exit(2)
    with _errors():
        rendering = _render(stack, project)
    result = diff.compare(diff.read_tree(against), rendering.files())
    heading = f"raydask diff: stack {stack} (against {against})"
    if fmt is DiffFormat.markdown:
        typer.echo(diff.format_markdown(result, f"raydask diff — stack `{stack}`", budget=max_chars), nl=False)
    else:
        _print_diff(diff.format_text(result, heading))
    if exit_code and not result.empty:
        raise typer.Exit(1)


def against_problem(stack: str, against: Path) -> str | None:
    """Why ``against`` is not a previous render of ``stack`` (None when it is)."""
    from raydask.offline import render as rnd

    if not against.is_dir():
        return "is not a directory"
    index = against / rnd.INDEX
    if not index.is_file():
        return f"is not a raydask render directory (it has no {rnd.INDEX}): run `raydask render {stack} --out DIR` first"
    try:
        data = rnd.load_yaml(index.read_text()) or {}
    except Exception:  # a broken index is not a render
        data = None
    if not isinstance(data, dict) or "objects" not in data:
        return f"has an {rnd.INDEX} that raydask render did not write"
    if data.get("stack") != stack:
        return f"holds a render of stack '{data.get('stack')}', not of '{stack}'"
    return None


def _print_diff(text: str) -> None:
    from rich.text import Text

    styles = {"+": "green", "-": "red", "@": "cyan", "=": "bold"}
    console = _out()
    for line in text.splitlines():
        style = "bold" if line.startswith(("--- added", "--- changed", "--- removed")) else styles.get(line[:1])
        if line.startswith(("+++ ", "--- a/", "--- /dev/null")):
            style = "dim"
        console.print(Text(line, style=style or ""), soft_wrap=True)


# ---------------------------------------------------------------------------------------------------------------
# plan
# ---------------------------------------------------------------------------------------------------------------


def plan_text(stack: str, plan: Any) -> str:
    """Each cluster on a line of its own, its groups below it with pods and requests as min–max ranges, then the stack
    totals: fits 80 columns."""
    from raydask.offline.plan import fmt

    def span(a: str, b: str) -> str:
        return a if a == b else f"{a}–{b}"

    def cells(lo: int, hi: int, a: Any, b: Any) -> list[str]:
        fa, fb = fmt(a), fmt(b)
        return [span(str(lo), str(hi)), span(fa["cpu"], fb["cpu"]), span(fa["memory"], fb["memory"]), span(fa["gpu"], fb["gpu"])]

    rows: list[tuple[str | None, str, list[str]]] = []
    for g in plan.groups:
        rows.append((g.owner, f"  {g.group}", cells(g.min_pods, g.max_pods, g.at_min, g.at_max)))
    rows.append((None, "total", cells(plan.min_pods, plan.max_pods, plan.at_min, plan.at_max)))
    heads = ["pods", "CPU", "memory", "GPU"]
    label = max(len(r[1]) for r in rows)
    widths = [max(len(h), *(len(r[2][i]) for r in rows)) for i, h in enumerate(heads)]

    def line(first: str, values: list[str]) -> str:
        return "  ".join([first.ljust(label), *(v.rjust(w) for v, w in zip(values, widths, strict=True))]).rstrip()

    out = [f"stack {stack}: capacity at minimum–maximum scale (requests)", line("", heads)]
    owner = None
    for who, group, values in rows:
        if who is not None and who != owner:
            out.append(who)
            owner = who
        out.append(line(group, values))
    return "\n".join(out) + "\n"


def plan_markdown(stack: str, plan: Any) -> str:
    """The plan as a markdown table."""
    data = plan.as_dict()
    lines = [f"#### Capacity of stack `{stack}` (requests)", "",
             "| cluster | group | pods | CPU min | CPU max | memory min | memory max | GPU min | GPU max |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for row in [*data["groups"], data["total"]]:
        lines.append(f"| {row['owner']} | {row['group']} | {row['minPods']}–{row['maxPods']} | {row['min']['cpu']} | "
                     f"{row['max']['cpu']} | {row['min']['memory']} | {row['max']['memory']} | {row['min']['gpu']} | "
                     f"{row['max']['gpu']} |")
    return "\n".join(lines) + "\n"


@app.command(
    "plan",
    short_help="Pods, CPU, memory and GPU of every cluster and group at min and max scale.",
    help="Capacity of every cluster and group, derived from the rendered manifests: Ray heads (autoscaler sidecar "
    "included), worker groups and job submitters; Dask schedulers and worker groups (DaskAutoscaler bounds); operator "
    "Deployments. Pods and CPU / memory / GPU requests at minimum and maximum scale, and stack totals.",
)
def plan_cmd(
    stack: StackArg,
    fmt: Annotated[PlanFormat, typer.Option("--format", help="table, json or markdown.")] = PlanFormat.table,
    project: ProjectOpt = None,
) -> None:
    """Print the capacity plan of a stack."""
    from raydask.offline.plan import plan_objects

    with _errors():
        rendering = _render(stack, project)
    plan = plan_objects(rendering.manifests(include_crds=False))
    if fmt is PlanFormat.json:
        typer.echo(json.dumps({"stack": stack, **plan.as_dict()}, indent=2))
    elif fmt is PlanFormat.markdown:
        typer.echo(plan_markdown(stack, plan), nl=False)
    else:
        typer.echo(plan_text(stack, plan), nl=False)


charts_app = typer.Typer(
    name="charts",
    short_help="Fill and list the chart cache (charts and CRDs for machines without the public repositories).",
    help="The chart cache the operators, the offline render and the validators read charts and CRDs from "
    "($RAYDASK_CHART_CACHE, default ~/.cache/raydask/charts). Fill it in advance on machines without the public "
    "chart repositories.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)
app.add_typer(charts_app)


@contextmanager
def _chart_errors() -> Iterator[None]:
    from raydask.charts import ChartError

    try:
        yield
    except ChartError as exc:
        _err().print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None


@charts_app.command("add", short_help="Copy a chart directory into the cache.",
                    help="Copy a chart directory (from `helm pull --untar`, say) into the cache.")
def charts_add_cmd(
    directory: Annotated[Path, typer.Argument(help="The chart directory (holding Chart.yaml).", file_okay=False, exists=True)],
    version: Annotated[str | None, typer.Option(help="Version to record where Chart.yaml carries a placeholder (the "
                                                     "dask-kubernetes wheel's chart).", metavar="VERSION")] = None,
) -> None:
    from raydask import charts

    with _chart_errors():
        chart = charts.add(directory, version=version)
    typer.echo(f"cached {chart.name} {chart.version} at {chart.path}")


@charts_app.command(
    "mirror",
    short_help="Fill the cache from a local copy of the chart repositories.",
    help="Fill the cache from DIR, a local copy of the chart repositories, for machines without the public ones: every "
    "chart directory (holding Chart.yaml) and packaged chart (.tgz) under DIR, and CRD sets laid out as "
    "<name>-<version>/crds/ (the Prometheus operator's monitors); the Dask operator chart from the installed "
    "dask-kubernetes wheel when DIR lacks it. Then lists what raydask supports that the cache still lacks.",
)
def charts_mirror_cmd(
    directory: Annotated[Path, typer.Argument(help="The local copy (e.g. ../shared).", file_okay=False, exists=True,
                                              show_default=False)],
) -> None:
    from raydask import charts
    from raydask.offline.validation.upstream import mirror

    with _chart_errors():
        added, missing = mirror(directory)
    for chart in added:
        typer.echo(f"cached {chart.name} {chart.version} at {chart.path}")
    if missing:
        typer.echo(f"still not in {charts.cache_dir()} (fetched on first use where the network allows): "
                   + ", ".join(f"{p.name} {p.version} (from {p.source})" for p in missing), err=True)
    if not added:
        raise typer.Exit(1)


@charts_app.command("add-crds", short_help="Copy a directory of CRD files into the cache as NAME VERSION.",
                    help="Copy a directory of CRD files into the cache under NAME VERSION (for CRDs the "
                                     "validators need that no installed chart ships: prometheus-operator's monitors).")
def charts_add_crds_cmd(
    name: Annotated[str, typer.Argument(help="Name, e.g. prometheus-operator.")],
    version: Annotated[str, typer.Argument(help="Version, e.g. 0.93.0.")],
    directory: Annotated[Path, typer.Argument(help="Directory of CRD *.yaml files.", file_okay=False, exists=True)],
) -> None:
    from raydask import charts

    with _chart_errors():
        chart = charts.add_crds(directory, name, version)
    typer.echo(f"cached {chart.name} {chart.version} CRDs at {chart.path}")


@charts_app.command("pull", help="Fetch a chart from a Helm repository into the cache.")
def charts_pull_cmd(
    chart: Annotated[str, typer.Argument(help="Chart name, e.g. kuberay-operator.")],
    version: Annotated[str, typer.Argument(help="Chart version, e.g. 1.7.0.")],
    repo: Annotated[str, typer.Option(help="Helm repository URL.", metavar="URL")],
) -> None:
    from raydask import charts

    with _chart_errors():
        found = charts.locate(chart, version, repo=repo)
    typer.echo(f"cached {found.name} {found.version} at {found.path}")


@charts_app.command("list", short_help="The charts in the cache.", help="The charts in the cache.")
def charts_list_cmd() -> None:
    from raydask import charts

    root = charts.cache_dir()
    rows = sorted(p.parent.name + " " + p.name for p in root.glob("*/*") if (p / "Chart.yaml").is_file())
    typer.echo(f"{root}:" + "".join(f"\n  {r}" for r in rows) if rows else f"{root}: empty")


def _plain_arguments(command: Any) -> None:
    """Arguments as the help names them (``STACK``, ``[STACKS]...``), not as newer Typer releases do (``{STACK}``,
    ``STACK <str>``), in every command below ``command``."""
    for param in getattr(command, "params", ()):
        if type(param).__name__ == "TyperArgument":
            param.display_type = lambda ctx: ""
            param.display_type_rich = lambda ctx: None
            param.metavar = name = param.metavar or param.name.upper()
            usage = name if param.required else f"[{name}]"
            param._usage_display_name = lambda usage=usage, nargs=param.nargs: usage + ("..." if nargs != 1 else "")
    for sub in (getattr(command, "commands", None) or {}).values():
        _plain_arguments(sub)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Exits without interpreter teardown (about a second of freeing parsed CRD schemas);
    exit handlers still run."""
    command: Callable[..., Any] = typer.main.get_command(app)
    _plain_arguments(command)
    try:
        command(args=argv, prog_name="raydask")
        code = 0
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    getattr(atexit, "_run_exitfuncs", lambda: None)()
    os._exit(code)


if __name__ == "__main__":
    main()
