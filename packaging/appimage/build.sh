#!/bin/sh
# Build dist/Desk-<version>-x86_64.AppImage from the working tree: packaging/appimage/build.py does the work
# (its docstring lists the steps); this finds a Python 3.11 for it. Options: --clean (fresh build venv).
set -eu
PYTHON="${PYTHON:-python3.11}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "build.sh: $PYTHON not found: install Python 3.11 (Desk's frozen interpreter) or set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
exec "$PYTHON" "$(dirname "$0")/build.py" "$@"
