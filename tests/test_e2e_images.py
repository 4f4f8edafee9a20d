"""The live tier's image recipe (e2e/images): versions, locks, cache keys and images.json, without building anything."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from raydask.k8s.images import DASK_IMAGE
from raydask.spec.dask import DASK_VERSION
from raydask.spec.ray import DEFAULT_RAY_VERSION

ROOT = Path(__file__).resolve().parents[1]
STACKS = [*sorted((ROOT / "stacks").glob("Pulumi.*.yaml")), *sorted((ROOT / "tests/e2e/stacks").glob("Pulumi.*.yaml"))]
FAKE_NODES_ONLY = {"Pulumi.day2.yaml": "its Ray version bump (2.52.0, then the default) runs on kwok's fake nodes, which pull nothing"}
"""Stacks deployed only on kwok's fake nodes (no image of theirs runs), with why they name other versions."""


def _load(name: str) -> Any:
    """e2e/images/<name>.py (a script, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"raydask_e2e_images_{name}", ROOT / f"e2e/images/{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _load("build")
check = _load("check")


@pytest.fixture
def recipe() -> dict[str, Any]:
    return build.load()


def _values(node: Any, key: str) -> list[str]:
    if isinstance(node, dict):
        return [str(v) for k, v in node.items() if k == key] + [x for v in node.values() for x in _values(v, key)]
    if isinstance(node, list):
        return [x for v in node for x in _values(v, key)]
    return []


def test_versions_are_raydasks_defaults_and_every_stacks(recipe: dict[str, Any]) -> None:
    versions = recipe["versions"]
    assert versions["ray"] == DEFAULT_RAY_VERSION
    assert versions["dask"] == DASK_VERSION
    assert {s.name for s in STACKS} >= set(FAKE_NODES_ONLY)
    for stack in (s for s in STACKS if s.name not in FAKE_NODES_ONLY):
        config = yaml.safe_load(stack.read_text())
        assert set(_values(config, "rayVersion")) <= {versions["ray"]}, stack.name
        assert set(_values(config, "daskVersion")) <= {versions["dask"]}, stack.name


def test_the_images_raydask_renders_by_default_are_built(recipe: dict[str, Any]) -> None:
    refs = {ref for spec in recipe["images"].values() for ref in spec["refs"]}
    assert f"rayproject/ray:{DEFAULT_RAY_VERSION}" in refs
    assert f"{DASK_IMAGE}:{DASK_VERSION}" in refs
    assert [n for n, s in recipe["images"].items() if s.get("sandbox")] == ["pause"]


def test_locks_match_their_requirements_and_pin_every_wheel_by_hash(recipe: dict[str, Any]) -> None:
    venvs = [step for spec in recipe["images"].values() for step in spec.get("steps", []) if "venv" in step]
    assert len(venvs) == 3
    for step in [*venvs, recipe["mirror"]]:
        lines = (build.HERE / step["lock"]).read_text().splitlines()
        assert lines[0] == build.LOCK_HEADER + " ".join(step["requirements"])
        pins = {}
        for line in lines[1:]:
            m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+) --hash=sha256:[0-9a-f]{64}", line)
            assert m, line
            pins[m.group(1).lower()] = m.group(2)
        for req in step["requirements"]:
            name, _, version = req.partition("==")
            assert re.sub(r"\[.*\]", "", name).lower() in pins, req
            if version:
                assert pins[re.sub(r"\[.*\]", "", name).lower()] == version, req


def test_recipe_hash_is_stable_and_follows_each_input(recipe: dict[str, Any]) -> None:
    first = {n: build.image_hash(recipe, n) for n in recipe["images"]}
    assert first == {n: build.image_hash(build.load(), n) for n in recipe["images"]}
    assert len(set(first.values())) == len(first)
    changed = build.load()
    changed["base"]["include"] = [*changed["base"]["include"], "curl"]
    moved = {n for n in recipe["images"] if build.image_hash(changed, n) != first[n]}
    assert moved == {n for n, s in recipe["images"].items() if s["from"] == "base"}
    changed = build.load()
    changed["images"]["dask"]["config"]["env"]["DASK_VERSION"] = "0"
    assert {n for n in recipe["images"] if build.image_hash(changed, n) != first[n]} == {"dask"}


@pytest.mark.parametrize(("ref", "name"), [
    ("rayproject/ray:2.60.0", "docker.io/rayproject/ray:2.60.0"),
    ("redis:7.0.15", "docker.io/library/redis:7.0.15"),
    ("ghcr.io/dask/dask:2026.8.0", "ghcr.io/dask/dask:2026.8.0"),
    ("registry.k8s.io/pause:3.10.1", "registry.k8s.io/pause:3.10.1"),
    ("localhost:5000/x:1", "localhost:5000/x:1"),
])
def test_full_name_is_what_the_kubelet_asks_containerd_for(ref: str, name: str) -> None:
    assert build.full_name(ref) == name


def test_full_name_refuses_an_untagged_ref() -> None:
    with pytest.raises(ValueError, match="no tag"):
        build.full_name("rayproject/ray")


def test_annotate_names_each_ref_for_ctr_import(tmp_path: Path) -> None:
    manifest = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "a" * 64, "size": 1,
                "annotations": {"org.opencontainers.image.ref.name": "ray"}}
    (tmp_path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest]}))
    build.annotate(tmp_path, "ray", ["docker.io/rayproject/ray:2.60.0", "docker.io/rayproject/ray:2.60.0-py311"])
    entries = json.loads((tmp_path / "index.json").read_text())["manifests"]
    assert [e["annotations"] for e in entries] == [
        {"io.containerd.image.name": "docker.io/rayproject/ray:2.60.0", "org.opencontainers.image.ref.name": "2.60.0"},
        {"io.containerd.image.name": "docker.io/rayproject/ray:2.60.0-py311", "org.opencontainers.image.ref.name": "2.60.0-py311"},
    ]
    assert {e["digest"] for e in entries} == {manifest["digest"]}
    assert all(e["platform"] == {"architecture": "amd64", "os": "linux"} for e in entries)


def test_images_json_names_every_cached_build(recipe: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "CACHE", tmp_path)
    built = [n for n in recipe["images"] if n != "busybox"]
    for name in built:
        entry = tmp_path / f"{name}-{build.image_hash(recipe, name)}"
        entry.mkdir()
        (entry / "build.json").write_text(json.dumps({"hash": "h", "names": [], "size_bytes": 1, "seconds": 2, "built": "t"}))
    doc = json.loads(build.write_index(recipe).read_text())
    assert set(doc) == {"recipe", "images", "names", "pause", "builds"}
    assert set(doc["builds"]) == set(built)
    assert doc["images"][f"rayproject/ray:{DEFAULT_RAY_VERSION}"].endswith("/image.oci.tar")
    assert doc["names"][f"rayproject/ray:{DEFAULT_RAY_VERSION}"] == f"docker.io/rayproject/ray:{DEFAULT_RAY_VERSION}"
    assert doc["pause"] == f"registry.k8s.io/pause:{recipe['versions']['pause']}"
    assert not any(ref.startswith("busybox") for ref in doc["images"])
    assert doc["recipe"] == build.recipe_hash(recipe)


def test_mirror_is_read_from_apt_sources_at_run_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text("Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
                       "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n")
    monkeypatch.setattr(build, "SOURCES", (sources,))
    assert build.mirror() == "http://mirror.invalid/debian"
    recipe_text = (build.HERE / "images.toml").read_text() + (build.HERE / "build.py").read_text()
    hosts = re.findall(r"\b(?:https?|ftp)://([^/\s:\"]+)", recipe_text)
    assert set(hosts) <= {"0.0.0.0"}, f"the recipe names no host (the mirror is read at run time): {hosts}"


def test_kuberay_start_line_is_kuberays() -> None:
    """KubeRay's setMissingRayStartParams + generateRayStartCommand: limits -> num-cpus/memory, sorted flags, --block."""
    container = {"resources": {"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "1"}}}
    head = check.kuberay_start({"dashboard-host": "0.0.0.0", "metrics-export-port": "8080"}, container, True, "10.0.0.1")
    assert head.split() == ["ray", "start", "--head", "--block", "--dashboard-agent-listen-port=52365",
                            "--dashboard-host=0.0.0.0", "--memory=2147483648", "--metrics-export-port=8080", "--num-cpus=2"]
    worker = check.kuberay_start({"num-cpus": "0", "log-color": "true"}, {"resources": {"requests": {"cpu": "500m"}}}, False,
                                 "10.0.0.1")
    assert worker.split() == ["ray", "start", "--address=10.0.0.1:6379", "--block", "--dashboard-agent-listen-port=52365",
                              "--log-color=true", "--metrics-export-port=8080", "--num-cpus=0"]


class _Image:
    """What Runtime.spec reads of an unpacked image."""

    def __init__(self, rootfs: Path, config: dict[str, Any]):
        self.rootfs, self.config = rootfs, config
        self.spec = {"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"]}},
                     "mounts": [{"destination": "/dev/shm", "type": "tmpfs"}, {"destination": "/proc", "type": "proc"}],
                     "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}]}}

    home_of = check.Image.home_of


def test_runc_spec_is_what_the_kubelet_gives_raydasks_ray_worker(tmp_path: Path) -> None:
    from raydask.builders.ray import ray_cluster_spec
    from raydask.spec.ray import RayClusterSpec

    (tmp_path / "rootfs/etc").mkdir(parents=True)
    (tmp_path / "rootfs/etc/passwd").write_text("ray:x:1000:100::/home/ray:/bin/bash\n")
    image = _Image(tmp_path / "rootfs", {"User": "1000", "Env": ["PATH=/bin", "HOME=/home/ray"], "Cmd": ["/bin/bash"],
                                         "WorkingDir": "/home/ray"})
    cluster = ray_cluster_spec(RayClusterSpec.model_validate(
        {"name": "c", "workerGroups": [{"name": "cpu", "minReplicas": 1, "maxReplicas": 1, "cpu": "1", "memory": "1Gi"}]}))
    pod, container, env = check.kuberay_pod(cluster["workerGroupSpecs"][0], False, "10.0.0.1", "c-worker")
    (tmp_path / "work").mkdir()
    rt = check.Runtime(tmp_path / "work", state=tmp_path / "state")
    spec = rt.spec(image, pod, container, "/var/run/netns/x", "10.0.0.2", "c-worker", env)
    process = spec["process"]
    assert process["user"] == {"uid": 10001, "gid": 100, "additionalGids": [100]}
    assert process["args"][:3] == ["/bin/bash", "-c", "--"] and process["args"][3].startswith("ulimit -n 65536; ray start ")
    assert "HOME=/tmp" in process["env"] and "RAY_ADDRESS=10.0.0.1:6379" in process["env"]
    assert process["noNewPrivileges"] is True
    assert all(caps == [] for caps in process["capabilities"].values())
    assert spec["root"]["readonly"] is True
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert mounts["/dev/shm"]["type"] == "tmpfs" and f"size={307 * 2**20}" in mounts["/dev/shm"]["options"]
    for path in ("/tmp", "/tmp/ray"):
        assert mounts[path]["type"] == "bind"
        host = Path(mounts[path]["source"])
        assert host.stat().st_mode & 0o7777 == 0o2777 and host.stat().st_gid == 100
    assert {"type": "network", "path": "/var/run/netns/x"} in spec["linux"]["namespaces"]
    assert spec["linux"]["resources"] == {"memory": {"limit": 2**30}, "cpu": {"quota": 100000, "period": 100000}}


def test_runc_spec_follows_kubernetes_command_args_and_home(tmp_path: Path) -> None:
    (tmp_path / "rootfs").mkdir()
    image = _Image(tmp_path / "rootfs", {"Entrypoint": ["tini", "--", "/usr/bin/prepare.sh"], "Env": ["X=1"]})
    (tmp_path / "work").mkdir()
    rt = check.Runtime(tmp_path / "work", state=tmp_path / "state")
    sc = {"runAsUser": 10001, "runAsGroup": 10001, "capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE"]}}
    c = {"args": ["dask", "worker", "--name", "$(DASK_WORKER_NAME)"], "securityContext": sc}
    spec = rt.spec(image, {}, c, "/ns", "10.0.0.3", "w", {"DASK_WORKER_NAME": "w-0"})
    assert spec["process"]["args"] == ["tini", "--", "/usr/bin/prepare.sh", "dask", "worker", "--name", "w-0"]
    assert "HOME=/" in spec["process"]["env"]  # no passwd entry, no HOME: containerd's default
    assert spec["process"]["capabilities"]["effective"] == ["CAP_SYS_PTRACE"]
    assert spec["process"]["noNewPrivileges"] is False
    spec = rt.spec(image, {}, {"command": ["sh"], "args": ["-c", "true"]}, "/ns", "10.0.0.3", "w")
    assert spec["process"]["args"] == ["sh", "-c", "true"]
    with pytest.raises(RuntimeError, match="runAsNonRoot"):
        rt.spec(image, {"securityContext": {"runAsNonRoot": True}}, {}, "/ns", "10.0.0.3", "w")
