"""Build the live tier's container images (e2e/images/images.toml) as OCI archives containerd imports.

    build.py build [IMAGE ...]   build what is missing (all by default), then write images.json
    build.py lock [IMAGE ...]    resolve each venv step's requirements on PyPI into its .lock (pins + sha256)
    build.py hash [IMAGE ...]    print each image's recipe hash
    build.py prune               remove cached images and bases that images.json does not name (older than an hour)

Root filesystems come from ``debootstrap`` against the Debian mirror this machine's apt uses (read at run time), Python
packages from PyPI wheels pinned by hash. One base root filesystem is built once and is the first layer of every
Debian-based image (containerd stores it once). Each image is cached by the hash of its recipe: its definition, the
base's, the files it copies, its lock, and this file. Output, outside the repository:

    ${RAYDASK_TOOLS_DIR:-~/.cache/raydask-tools}/images/
        images.json                      {"images": {ref: archive}, "names": {ref: full name}, "pause": ref, ...}
        <image>-<hash>/image.oci.tar     OCI image layout, tar; index entries annotated with the full name
        <image>-<hash>/build.json        refs, size, build time, Debian packages and pip freeze
        base-<hash>/oci/                 the shared base (an OCI layout)
        wheels/  debs/                   download caches (PyPI wheels, Debian packages)

Stdlib only; runs as root (debootstrap, chroot, mounts in a private mount namespace).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RECIPE = HERE / "images.toml"
CACHE = Path(os.environ.get("RAYDASK_TOOLS_DIR") or Path.home() / ".cache" / "raydask-tools") / "images"
PYTHON = os.environ.get("RAYDASK_PYTHON") or sys.executable
SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
BUILDER = Path(__file__).read_text()
"""This file as it was when the build started: part of every hash (an edit during a build changes no cache key)."""

# Runs one build step in a chroot, inside `unshare --mount --pid --fork`: every mount below dies with the namespace,
# and so does any daemon a package's scripts start. /dev, /tmp and /run are tmpfs (nothing lands in the image);
# /etc/resolv.conf (an empty file in the image) and the apt archive cache are the host's; BINDS ("src:dst" ...) are
# mounted read-only under /tmp.
CHROOT = r"""
set -euo pipefail
R=$1; SCRIPT=$2; APT_CACHE=$3; shift 3
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r n major minor <<<"$d"; mknod -m 666 "$R/dev/$n" c "$major" "$minor"
done
ln -s /proc/self/fd "$R/dev/fd"; mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"; ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
[[ -e $R/etc/resolv.conf || -L $R/etc/resolv.conf ]] && rm -f "$R/etc/resolv.conf"
touch "$R/etc/resolv.conf"; mount --bind -o ro /etc/resolv.conf "$R/etc/resolv.conf"
mkdir -p "$R/var/cache/apt/archives" "$APT_CACHE/partial"
mount --bind "$APT_CACHE" "$R/var/cache/apt/archives"
for b in "$@"; do
  src=${b%%:*}; dst=$R/tmp/${b#*:}
  if [[ -d $src ]]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; touch "$dst"; fi
  mount --bind -o ro "$src" "$dst"
done
exec chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -euo pipefail -c "$SCRIPT"
"""

# Host traces debootstrap copies in, and build leftovers; removed before every layer is packed.
CLEAN = r"""
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/log/apt/* /root/.cache
rm -f /var/log/dpkg.log /var/log/alternatives.log /var/log/bootstrap.log /etc/machine-id /usr/sbin/policy-rc.d
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >/etc/hosts
rm -f /etc/hostname
"""


def log(msg: str) -> None:
    print(f"[images {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure print its tail and exit."""
    kw.setdefault("text", True)
    proc = subprocess.run(cmd, capture_output=True, **kw)
    if proc.returncode:
        tail = (proc.stdout + proc.stderr)[-4000:]
        sys.exit(f"images: {' '.join(map(str, cmd[:6]))} ... exited {proc.returncode}:\n{tail}")
    return proc


# --------------------------------------------------------------------------------------------------- the recipe
def load() -> dict[str, Any]:
    """images.toml with {ray}/{dask}/... substituted from [versions]."""
    raw = tomllib.loads(RECIPE.read_text())
    versions = raw["versions"]

    def sub(v: Any) -> Any:
        if isinstance(v, str):
            return v.format_map(versions)
        if isinstance(v, list):
            return [sub(x) for x in v]
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v

    return {"versions": versions, "base": raw["base"], "images": {k: sub(v) for k, v in raw["images"].items()}}


def full_name(ref: str) -> str:
    """The name containerd and the kubelet use for ``ref``: docker.io/ and library/ added, :latest never implied."""
    first, _, rest = ref.partition("/")
    if not rest:
        ref = f"docker.io/library/{ref}"
    elif "." not in first and ":" not in first and first != "localhost":
        ref = f"docker.io/{ref}"
    if ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref:
        raise ValueError(f"image reference '{ref}' has no tag")
    return ref


def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def base_hash(recipe: dict[str, Any]) -> str:
    return _sha({"base": recipe["base"], "builder": BUILDER})[:16]


def image_hash(recipe: dict[str, Any], name: str) -> str:
    """Hash of everything that makes the image: definition, base, copied files, lock, builder, Go for pause."""
    spec = recipe["images"][name]
    files = {}
    for step in spec.get("steps", []):
        for key in ("copy", "lock"):
            if key in step:
                path = HERE / step[key]
                files[step[key]] = path.read_text() if path.exists() else None
    inputs: dict[str, Any] = {"name": name, "spec": spec, "files": files, "builder": BUILDER}
    if spec["from"] == "base":
        inputs["base"] = base_hash(recipe)
    if name == "pause":
        inputs["pause.go"] = (HERE / "pause" / "main.go").read_text()
        inputs["go"] = run(["go", "version"]).stdout.strip()
    return _sha(inputs)[:16]


def recipe_hash(recipe: dict[str, Any]) -> str:
    return _sha({n: image_hash(recipe, n) for n in sorted(recipe["images"])})[:16]


def mirror() -> str:
    """The Debian mirror of this machine's apt sources (the first URI serving the base suite)."""
    for src in SOURCES:
        if not src.exists():
            continue
        text = src.read_text()
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and "bookworm" in suites.group(1).split():
                return uris.group(1)
        for line in text.splitlines():
            m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
            if m:
                return m.group(1)
    sys.exit("images: no Debian bookworm mirror in " + ", ".join(map(str, SOURCES)))


# ----------------------------------------------------------------------------------------------------- building
class Builder:
    def __init__(self, recipe: dict[str, Any], work: Path):
        self.recipe = recipe
        self.work = work
        self.apt_cache = CACHE / "debs" / "archives"
        self.wheels = CACHE / "wheels"

    def chroot(self, rootfs: Path, script: str, binds: dict[Path, str] | None = None) -> str:
        """Run ``script`` (bash) as root in ``rootfs``; its output."""
        self.apt_cache.mkdir(parents=True, exist_ok=True)
        args = [f"{src}:{dst}" for src, dst in (binds or {}).items()]
        return run(["unshare", "--mount", "--pid", "--fork", "--propagation", "private", "bash", "-c", CHROOT, "chroot",
             str(rootfs), script, str(self.apt_cache), *args]).stdout

    # ------------------------------------------------------------------------------------------------ the base
    def base(self) -> Path:
        """The base OCI layout (tag ``base``): debootstrap minbase + [base].include, upgraded, cleaned."""
        spec = self.recipe["base"]
        dest = CACHE / f"base-{base_hash(self.recipe)}"
        if (dest / "build.json").exists():
            log(f"base: cached in {dest}")
            return dest / "oci"
        t0 = time.monotonic()
        tmp = Path(tempfile.mkdtemp(dir=self.work, prefix="base."))
        layout, bundle = tmp / "oci", tmp / "bundle"
        run(["umoci", "init", "--layout", str(layout)])
        run(["umoci", "new", "--image", f"{layout}:base"])
        run(["umoci", "unpack", "--image", f"{layout}:base", str(bundle)])
        rootfs = bundle / "rootfs"
        debs = CACHE / "debs" / "debootstrap"
        debs.mkdir(parents=True, exist_ok=True)
        log(f"base: debootstrap {spec['variant']} {spec['suite']} + {', '.join(spec['include'])}")
        run(["debootstrap", f"--variant={spec['variant']}", f"--include={','.join(spec['include'])}",
             f"--cache-dir={debs}", spec["suite"], str(rootfs), mirror()])
        # apt sources: this machine's (updates and security included), not debootstrap's single line
        for src in SOURCES:
            if src.exists():
                shutil.copy(src, rootfs / src.relative_to("/"))
        if (rootfs / "etc/apt/sources.list.d/debian.sources").exists():
            (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        self.chroot(rootfs, "apt-get update -qq && apt-get -y -qq upgrade >/dev/null\n" + CLEAN)
        run(["umoci", "repack", "--image", f"{layout}:base", str(bundle)])
        shutil.rmtree(bundle)
        self._finish(tmp, dest, {"what": "base", "seconds": round(time.monotonic() - t0)})
        log(f"base: built in {round(time.monotonic() - t0)}s")
        return dest / "oci"

    # ------------------------------------------------------------------------------------------------ images
    def image(self, name: str) -> Path:
        spec = self.recipe["images"][name]
        h = image_hash(self.recipe, name)
        dest = CACHE / f"{name}-{h}"
        if (dest / "build.json").exists():
            log(f"{name}: cached in {dest}")
            return dest
        base = self.base() if spec["from"] == "base" else None
        t0 = time.monotonic()
        log(f"{name}: building ({h})")
        tmp = Path(tempfile.mkdtemp(dir=self.work, prefix=f"{name}."))
        layout, bundle = tmp / "oci", tmp / "bundle"
        tag = name
        if base:
            layout.mkdir()
            for item in base.iterdir():  # blobs are immutable: hard links; index.json and oci-layout are copied
                if item.is_dir():
                    shutil.copytree(item, layout / item.name, copy_function=os.link)
                else:
                    shutil.copy(item, layout / item.name)
            run(["umoci", "unpack", "--image", f"{layout}:base", str(bundle)])
        else:
            run(["umoci", "init", "--layout", str(layout)])
            run(["umoci", "new", "--image", f"{layout}:base"])
            run(["umoci", "unpack", "--image", f"{layout}:base", str(bundle)])
        rootfs = bundle / "rootfs"
        info: dict[str, Any] = {"name": name, "hash": h, "refs": spec["refs"]}
        if name == "pause":
            self._pause(rootfs)
        elif name == "busybox":
            self._busybox(rootfs, base_layout=self.base())
        for step in spec.get("steps", []):
            self._step(rootfs, step)
        if base:
            self.chroot(rootfs, CLEAN)
            info["debian_packages"] = self.chroot(rootfs, "dpkg-query -W -f '${Package}=${Version}\\n'").split()
        for step in spec.get("steps", []):
            if "venv" in step:
                info["pip_freeze"] = self.chroot(rootfs, f"{step['venv']}/bin/pip freeze --disable-pip-version-check").split()
        info["rootfs_bytes"] = int(run(["du", "-sb", str(rootfs)]).stdout.split()[0])
        run(["umoci", "repack", "--image", f"{layout}:{tag}", str(bundle)])
        shutil.rmtree(bundle)
        self._configure(layout, tag, spec.get("config", {}))
        run(["umoci", "rm", "--image", f"{layout}:base"])
        run(["umoci", "gc", "--layout", str(layout)])
        names = [full_name(r) for r in spec["refs"]]
        annotate(layout, tag, names)
        archive = tmp / "image.oci.tar"
        run(["tar", "-C", str(layout), "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-cf", str(archive),
             "oci-layout", "index.json", "blobs"])
        shutil.rmtree(layout)
        info.update(names=names, size_bytes=archive.stat().st_size, seconds=round(time.monotonic() - t0),
                    built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self._finish(tmp, dest, info)
        log(f"{name}: built in {info['seconds']}s, {info['size_bytes'] / 2**20:.0f} MiB archive, "
            f"{info['rootfs_bytes'] / 2**20:.0f} MiB unpacked -> {dest / 'image.oci.tar'}")
        return dest

    def _step(self, rootfs: Path, step: dict[str, Any]) -> None:
        if "apt" in step:
            log(f"  apt-get install {' '.join(step['apt'])}")
            self.chroot(rootfs, "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d\n"
                        "apt-get update -qq && apt-get install -y -qq --no-install-recommends " + " ".join(step["apt"]) +
                        " >/dev/null")
        elif "run" in step:
            log(f"  run {step['run'][:100]}")
            self.chroot(rootfs, step["run"])
        elif "copy" in step:
            target = rootfs / step["to"].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(HERE / step["copy"], target)
            os.chown(target, 0, 0)
            target.chmod(int(step.get("mode", "0644"), 8))
        elif "venv" in step:
            lock = HERE / step["lock"]
            check_lock(lock, step)
            self._download(lock)
            venv = step["venv"]
            log(f"  venv {venv} + {lock.name}")
            flags = " --system-site-packages" if step.get("system_site") else ""
            self.chroot(rootfs, f"python3 -m venv{flags} {venv}\n"
                        f"{venv}/bin/pip install -q --disable-pip-version-check --no-cache-dir --no-index --no-deps "
                        f"--require-hashes --find-links /tmp/wheels -r /tmp/requirements.lock",
                        binds={self.wheels: "wheels", lock: "requirements.lock"})
        else:
            sys.exit(f"images: unknown step {step}")

    def _download(self, lock: Path) -> None:
        """Fetch the lock's wheels into the shared wheel cache (pip skips the ones already there)."""
        self.wheels.mkdir(parents=True, exist_ok=True)
        log(f"  pip download -r {lock.name}")
        run([PYTHON, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps", "--only-binary=:all:",
             "--require-hashes", "-r", str(lock), "-d", str(self.wheels)])

    def _pause(self, rootfs: Path) -> None:
        """/pause: a static Go binary from pause/main.go (stdlib only, so no module download)."""
        src = self.work / "pause-src"
        src.mkdir()
        shutil.copy(HERE / "pause" / "main.go", src)
        (src / "go.mod").write_text("module raydask.local/pause\n\ngo 1.21\n")
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-trimpath -buildvcs=false", "GOTOOLCHAIN": "local"}
        run(["go", "build", "-ldflags", "-s -w", "-o", str(rootfs / "pause"), "."], cwd=src, env=env)
        (rootfs / "pause").chmod(0o755)

    def _busybox(self, rootfs: Path, base_layout: Path) -> None:
        """Debian's busybox-static in an empty root: /bin/busybox, a link per applet, passwd/group, /tmp."""
        helper = self.work / "busybox-helper"
        run(["umoci", "unpack", "--image", f"{base_layout}:base", str(helper)])
        self.chroot(helper / "rootfs", "apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null")
        for d in ("bin", "etc", "root", "tmp", "var/spool/mail", "home", "usr/sbin", "usr/bin", "sbin"):
            (rootfs / d).mkdir(parents=True, exist_ok=True)
        shutil.copy(helper / "rootfs/bin/busybox", rootfs / "bin/busybox")
        (rootfs / "tmp").chmod(0o1777)
        (rootfs / "root").chmod(0o700)
        applets = run([str(rootfs / "bin/busybox"), "--list-full"]).stdout.split()
        for applet in applets:
            link = rootfs / applet
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to("/bin/busybox")
        (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
        (rootfs / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
        shutil.rmtree(helper)

    def _configure(self, layout: Path, tag: str, config: dict[str, Any]) -> None:
        """The OCI config: user, working directory, env, entrypoint, cmd exactly as images.toml says (unset = empty)."""
        args = ["umoci", "config", "--image", f"{layout}:{tag}", "--no-history", "--clear=config.env",
                "--clear=config.entrypoint", "--clear=config.cmd", "--clear=config.volume", "--clear=config.labels"]
        args += [f"--config.user={config['user']}"] if "user" in config else []
        args += [f"--config.workingdir={config['workdir']}"] if "workdir" in config else []
        args += [f"--config.env={k}={v}" for k, v in config.get("env", {}).items()]
        args += [f"--config.entrypoint={a}" for a in config.get("entrypoint", [])]
        args += [f"--config.cmd={a}" for a in config.get("cmd", [])]
        args += ["--architecture=amd64", "--os=linux"]
        run(args)

    def _finish(self, tmp: Path, dest: Path, info: dict[str, Any]) -> None:
        (tmp / "build.json").write_text(json.dumps(info, indent=1) + "\n")
        tmp.chmod(0o755)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)


def annotate(layout: Path, tag: str, names: list[str]) -> None:
    """One index.json entry per name for the tagged manifest: ``io.containerd.image.name`` (the full name, which
    ``ctr images import`` takes as is) and ``org.opencontainers.image.ref.name`` (the tag, as the OCI spec has it)."""
    index = json.loads((layout / "index.json").read_text())
    [manifest] = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    entries = []
    for name in names:
        entry = {k: v for k, v in manifest.items() if k != "annotations"}
        entry["platform"] = {"architecture": "amd64", "os": "linux"}
        entry["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}
        entries.append(entry)
    index["manifests"] = entries
    (layout / "index.json").write_text(json.dumps(index, indent=1) + "\n")


# --------------------------------------------------------------------------------------------------------- locks
LOCK_HEADER = "# generated by e2e/images.sh lock from: "


def check_lock(lock: Path, step: dict[str, Any]) -> None:
    want = LOCK_HEADER + " ".join(step["requirements"])
    if not lock.exists() or lock.read_text().splitlines()[0] != want:
        sys.exit(f"images: {lock} was not generated from {step['requirements']}: run e2e/images.sh lock")


def lock(recipe: dict[str, Any], names: list[str]) -> None:
    """Resolve each venv step's requirements with pip (wheels only, this machine: CPython 3.11, x86_64, glibc 2.36
    like bookworm) and write the pins with the sha256 of the chosen wheel."""
    for name in names:
        for step in recipe["images"][name].get("steps", []):
            if "venv" not in step:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                req, report = Path(tmp) / "req.in", Path(tmp) / "report.json"
                req.write_text("\n".join(step["requirements"]) + "\n")
                run([PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--dry-run", "--ignore-installed",
                     "--only-binary=:all:", "--report", str(report), "-r", str(req)])
                installs = json.loads(report.read_text())["install"]
            lines = [LOCK_HEADER + " ".join(step["requirements"])]
            for item in sorted(installs, key=lambda i: i["metadata"]["name"].lower()):
                sha = item["download_info"]["archive_info"]["hashes"]["sha256"]
                lines.append(f"{item['metadata']['name']}=={item['metadata']['version']} --hash=sha256:{sha}")
            (HERE / step["lock"]).write_text("\n".join(lines) + "\n")
            log(f"{name}: {step['lock']}: {len(installs)} wheels")


# ---------------------------------------------------------------------------------------------------- images.json
def write_index(recipe: dict[str, Any]) -> Path:
    """images.json for every image whose current build is cached."""
    images, names, builds = {}, {}, {}
    pause = None
    for name, spec in sorted(recipe["images"].items()):
        dest = CACHE / f"{name}-{image_hash(recipe, name)}"
        if not (dest / "build.json").exists():
            continue
        info = json.loads((dest / "build.json").read_text())
        for ref in spec["refs"]:
            images[ref] = str(dest / "image.oci.tar")
            names[ref] = full_name(ref)
        if spec.get("sandbox"):
            pause = full_name(spec["refs"][0])
        builds[name] = {k: info.get(k) for k in ("hash", "names", "size_bytes", "rootfs_bytes", "seconds", "built")}
    out = CACHE / "images.json"
    doc = {"recipe": recipe_hash(recipe), "images": images, "names": names, "pause": pause, "builds": builds}
    text = json.dumps(doc, indent=1) + "\n"
    if not out.exists() or out.read_text() != text:  # unchanged: left alone (its mtime tells a rebuild)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.rename(out)
    return out


def prune(recipe: dict[str, Any]) -> None:
    keep = {f"{n}-{image_hash(recipe, n)}" for n in recipe["images"]} | {f"base-{base_hash(recipe)}"}
    for entry in CACHE.iterdir():
        if (entry / "build.json").exists() and entry.name not in keep and time.time() - entry.stat().st_mtime > 3600:
            log(f"prune: {entry}")
            shutil.rmtree(entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "lock", "hash", "prune"])
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    recipe = load()
    names = args.images or sorted(recipe["images"])
    if unknown := set(names) - set(recipe["images"]):
        sys.exit(f"images: unknown image(s) {sorted(unknown)} (known: {sorted(recipe['images'])})")
    if args.command == "hash":
        for name in names:
            print(name, image_hash(recipe, name))
        print("recipe", recipe_hash(recipe))
        return
    if args.command == "lock":
        lock(recipe, names)
        return
    if os.geteuid() != 0:
        sys.exit("images: building needs root (debootstrap, chroot, mount namespaces)")
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lockfile:
        try:
            fcntl.flock(lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another build holds {CACHE / '.lock'}; waiting")
            fcntl.flock(lockfile, fcntl.LOCK_EX)
        if args.command == "prune":
            prune(recipe)
            return
        for old in CACHE.glob(".work.*"):  # a killed run's leftovers (we hold the lock)
            remove(old)
        work = Path(tempfile.mkdtemp(dir=CACHE, prefix=".work."))
        try:
            t0 = time.monotonic()
            builder = Builder(recipe, work)
            for name in names:
                builder.image(name)
            out = write_index(recipe)
            log(f"done in {round(time.monotonic() - t0)}s: {out}")
        finally:
            remove(work)


def remove(path: Path) -> None:
    """rm -rf, after unmounting whatever a killed debootstrap left mounted below ``path`` (never cross into a mount)."""
    prefix = str(path.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    if any(line.split()[1].startswith(prefix) for line in Path("/proc/mounts").read_text().splitlines()):
        sys.exit(f"images: {path} still has mounts below it; not removing it")
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
