#!/bin/bash
# Start-up hook of the Dask image, with the contract of ghcr.io/dask/dask's /usr/bin/prepare.sh: install the Debian
# packages in EXTRA_APT_PACKAGES, then the PyPI packages in EXTRA_PIP_PACKAGES, then exec the command. This image has
# no conda: EXTRA_CONDA_PACKAGES and /opt/app/environment.yml are refused rather than ignored.
# As a non-root user pip falls back to a user install under $HOME/.local (set HOME to a writable directory).
set -euo pipefail

if [[ -n ${EXTRA_APT_PACKAGES:-} ]]; then
  echo "EXTRA_APT_PACKAGES environment variable found. Installing."
  apt-get update -y
  # shellcheck disable=SC2086  # a list of package names
  apt-get install -y $EXTRA_APT_PACKAGES
fi

if [[ -n ${EXTRA_CONDA_PACKAGES:-} || -e /opt/app/environment.yml ]]; then
  echo "prepare.sh: EXTRA_CONDA_PACKAGES / /opt/app/environment.yml need conda, which this image does not have;" \
       "use EXTRA_PIP_PACKAGES" >&2
  exit 1
fi

if [[ -n ${EXTRA_PIP_PACKAGES:-} ]]; then
  echo "EXTRA_PIP_PACKAGES environment variable found. Installing."
  # shellcheck disable=SC2086  # a list of requirement specifiers and pip options
  /opt/conda/bin/pip install --disable-pip-version-check $EXTRA_PIP_PACKAGES
fi

exec "$@"
