#!/usr/bin/env bash
# Makes the Python virtual environment the server tests and benchmark use (the official `openai`
# client from PyPI): scripts/server_venv.sh [DIR] (default build/venv-server). Idempotent.
set -euo pipefail
dir=${1:-build/venv-server}
if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import openai" 2> /dev/null; then
  exit 0
fi
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check "openai>=1.0,<3" jsonschema
"$dir/bin/python" -c "import openai, jsonschema"
