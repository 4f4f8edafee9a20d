"""The chart locator: a Helm repository through the chart cache (fetched once, digest checked), a chart directory, the
cache filled in advance; every failure a message that says what to do."""

from __future__ import annotations

import datetime
import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from upstream import dask_wheel_chart, kuberay_chart

from raydask import charts
from raydask.offline.render import find_helm


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A Helm repository (``helm package`` + ``helm repo index``) served on 127.0.0.1: what a mirror looks like."""
    root = tmp_path_factory.mktemp("repo")
    helm = str(find_helm())
    for version in ("1.7.0", "1.5.0"):
        subprocess.run([helm, "package", str(kuberay_chart(version)), "-d", str(root)], check=True, capture_output=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/charts/"
    subprocess.run([helm, "repo", "index", str(root), "--url", url], check=True, capture_output=True)
    # the index lists archives under /charts/; serve the same directory there
    (root / "charts").symlink_to(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_fetch_from_a_repository_once_into_the_cache(repo: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = repo
    chart = charts.locate("kuberay-operator", "1.5.0", repo=url, cache=tmp_path)
    assert chart.path == tmp_path / "kuberay-operator" / "1.5.0"
    assert {c["metadata"]["name"] for c in chart.crds()} >= {"rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io"}
    again = charts.locate("kuberay-operator", "1.5.0", repo="http://127.0.0.1:9/", cache=tmp_path)  # no request made
    assert again == chart


def test_fetch_refuses_a_wrong_digest_or_an_unknown_version(repo: tuple[str, Path], tmp_path: Path) -> None:
    url, root = repo
    with pytest.raises(charts.ChartError, match=r"has no chart kuberay-operator version 1\.9\.9 \(versions: "):
        charts.locate("kuberay-operator", "1.9.9", repo=url, cache=tmp_path)
    bad = tmp_path / "bad"
    shutil.copytree(root, bad, symlinks=True)
    index = yaml.safe_load((bad / "index.yaml").read_text())
    index["entries"]["kuberay-operator"][0]["digest"] = hashlib.sha256(b"other").hexdigest()
    (bad / "index.yaml").write_text(yaml.safe_dump(index))
    with pytest.raises(charts.ChartError, match="does not match the index"):
        charts.fetch(bad.as_uri(), "kuberay-operator", str(index["entries"]["kuberay-operator"][0]["version"]), tmp_path / "c")
    assert not (tmp_path / "c" / "kuberay-operator" / str(index["entries"]["kuberay-operator"][0]["version"])).exists()


def test_unreachable_and_unsupported_repositories(tmp_path: Path) -> None:
    with pytest.raises(charts.ChartError, match=r"cannot fetch http://127\.0\.0\.1:9/index\.yaml"):
        charts.locate("kuberay-operator", "1.7.0", repo="http://127.0.0.1:9", cache=tmp_path)
    with pytest.raises(charts.ChartError, match="only https://, http:// and file://"):
        charts.fetch("oci://ghcr.io/charts", "x", "1.0.0", tmp_path)


def test_a_chart_directory_is_used_as_it_is(tmp_path: Path) -> None:
    chart = charts.locate("kuberay-operator", "1.7.0", path=kuberay_chart("1.7.0"), cache=tmp_path)
    assert chart.path == kuberay_chart("1.7.0") and not any(tmp_path.iterdir())
    relative = charts.locate("kuberay-operator", "1.7.0", path="charts/kro", project_dir=_copy(tmp_path / "p" / "charts" / "kro"))
    assert relative.path == tmp_path / "p" / "charts" / "kro"
    with pytest.raises(charts.ChartError, match=r"is version 1\.7\.0, not 1\.5\.0"):
        charts.locate("kuberay-operator", "1.5.0", path=kuberay_chart("1.7.0"))
    with pytest.raises(charts.ChartError, match="is 'kuberay-operator', not 'dask-kubernetes-operator'"):
        charts.locate("dask-kubernetes-operator", "1.7.0", path=kuberay_chart("1.7.0"))


def _copy(target: Path) -> Path:
    shutil.copytree(kuberay_chart("1.7.0"), target)
    return target.parent.parent


def test_add_fills_the_cache_and_fixes_placeholder_versions(tmp_path: Path) -> None:
    chart = charts.add(dask_wheel_chart(), version="2026.3.0", cache=tmp_path)
    meta = charts.chart_metadata(chart.path)
    assert (meta["version"], meta["appVersion"]) == ("2026.3.0", "2026.3.0")
    assert charts.cached("dask-kubernetes-operator", "2026.3.0", tmp_path) == chart
    assert charts.chart_metadata(dask_wheel_chart())["version"] != "2026.3.0"  # the source is untouched
    crds = charts.add_crds(chart.path / "crds", "dask-crds", "1.0.0", cache=tmp_path)
    assert len(crds.crds()) == 4
    with pytest.raises(charts.ChartError, match="holds no CRD files"):
        charts.add_crds(tmp_path, "none", "1.0.0", cache=tmp_path / "x")


def test_the_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "explicit"))
    assert charts.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv(charts.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert charts.cache_dir() == tmp_path / "xdg" / "raydask" / "charts"


def test_mirror_fills_the_cache_from_a_local_copy(tmp_path: Path) -> None:
    """`raydask charts mirror <dir>`: chart directories, packaged charts and <name>-<version>/crds sets at any depth."""
    from upstream import prometheus_crds

    copy = tmp_path / "copy"
    shutil.copytree(kuberay_chart("1.7.0"), copy / "kuberay-1.7.0" / "charts" / "kuberay-operator")
    (copy / "packaged").mkdir(parents=True)
    subprocess.run([str(find_helm()), "package", str(kuberay_chart("1.5.0")), "-d", str(copy / "packaged")], check=True,
                   capture_output=True)
    shutil.copytree(prometheus_crds(), copy / "prometheus-operator-0.93.0" / "crds")
    (copy / "notes").mkdir()
    (copy / "notes" / "crds").mkdir()  # a crds directory whose parent names no version: not a CRD set
    added = charts.mirror(copy, cache=tmp_path / "cache")
    assert sorted((c.name, c.version) for c in added) == [
        ("kuberay-operator", "1.5.0"), ("kuberay-operator", "1.7.0"), ("prometheus-operator", "0.93.0")]
    assert charts.cached("prometheus-operator", "0.93.0", tmp_path / "cache").crds()  # type: ignore[union-attr]
    with pytest.raises(charts.ChartError, match="is not a directory"):
        charts.mirror(tmp_path / "nothing")


def test_crd_sets_are_fetched_once(tmp_path: Path) -> None:
    from upstream import prometheus_crds

    files = ("monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_podmonitors.yaml")
    remote = charts.CrdFiles("prometheus-operator", "0.93.0", prometheus_crds().as_uri() + "/", files)
    found = remote.locate(tmp_path)
    assert sorted(p.name for p in (found.path / "crds").iterdir()) == sorted(files)
    gone = charts.CrdFiles("prometheus-operator", "0.93.0", (tmp_path / "gone").as_uri() + "/", files)
    assert gone.locate(tmp_path).path == found.path  # cached: nothing fetched
    with pytest.raises(charts.ChartError, match="cannot fetch"):
        charts.CrdFiles("prometheus-operator", "0.0.1", (tmp_path / "gone").as_uri() + "/", files).locate(tmp_path)


def test_a_test_run_without_its_charts_stops_at_once_with_one_line(tmp_path: Path) -> None:
    """No chart cache and no network: pytest says which of the two to provide, in one line, and runs nothing."""
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if k not in (charts.CACHE_ENV, "XDG_CACHE_HOME")}
    env |= {"HOME": str(tmp_path), "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_errors.py"], cwd=root,
                         env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert run.returncode == 4, lines
    assert len(lines) == 1 and lines[0].startswith(f"Exit: raydask tests: the chart cache {tmp_path}/.cache/raydask/charts "
                                                   "lacks kuberay-operator 1.5.0"), lines
    assert lines[0].endswith("connect to the public chart repositories (the charts are fetched on first use), or fill the "
                             "cache from a local copy once: .venv/bin/raydask charts mirror <dir> (CI: ../shared)")


def test_kuberay_samples_come_from_the_reference_folder() -> None:
    from upstream import kuberay_samples

    samples = kuberay_samples()  # skips (CI: fails) with one line without ../shared
    assert any(samples.glob("ray-cluster*.yaml"))


def test_parsed_yaml_is_kept_as_json_by_content_and_only_when_json_holds_it(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    """A parsed CRD file is stored once as JSON (named by its text's sha256) and read back instead of parsing YAML; YAML
    that JSON would change (a date) is not stored; a damaged entry is parsed again, never trusted."""
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "cache"))
    plain, dated = tmp_path / "plain.yaml", tmp_path / "dated.yaml"
    plain.write_text("kind: CustomResourceDefinition\nmetadata: {name: a}\nspec: {n: 3, f: 1.5}\n---\nkind: Other\n")
    dated.write_text("kind: CustomResourceDefinition\nmetadata: {name: b, created: 2024-01-01}\n")
    stored = tmp_path / "cache" / charts.PARSED_DIR / f"{hashlib.sha256(plain.read_bytes()).hexdigest()}.json"
    charts._parsed.cache_clear()
    try:
        assert charts.file_documents(plain) == list(yaml.safe_load_all(plain.read_text()))
        assert json.loads(stored.read_text()) == list(yaml.safe_load_all(plain.read_text()))
        assert charts.file_documents(dated)[0]["metadata"]["created"] == datetime.date(2024, 1, 1)
        assert [p.name for p in stored.parent.iterdir()] == [stored.name]
        stored.write_text('[{"kind": "FromTheCache"}]')
        charts._parsed.cache_clear()
        assert charts.file_documents(plain) == [{"kind": "FromTheCache"}]  # read from the cache, not parsed
        stored.write_text("[{damaged")
        charts._parsed.cache_clear()
        assert charts.file_documents(plain)[0]["spec"] == {"n": 3, "f": 1.5}
    finally:
        charts._parsed.cache_clear()
