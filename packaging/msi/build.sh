#!/usr/bin/env bash
# One command: build dist/Desk-<version>-x64.msi from the working tree (see build.py; options: --version, --out,
# --build-dir). Needs uv and Debian's wixl + msitools (apt-get install wixl msitools); no Wine.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  echo "packaging/msi/build.sh: error: uv is missing: install it (python3 -m pip install --user uv)" >&2
  exit 1
fi
exec uv run --frozen python packaging/msi/build.py "$@"
