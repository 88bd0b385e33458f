#!/usr/bin/env bash
# Creates evaluation/.venv with the pinned peers of requirements.txt (PyPI only).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
