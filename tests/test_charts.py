"""The chart locator: a Helm repository through the chart cache (fetched once, digest checked), a chart directory, the
cache filled in advance; every failure a message that says what to do."""

from __future__ import annotations

import functools
import hashlib
import http.server
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
