#!/usr/bin/env bash
# Set everything up, then run the tests (extra arguments go to pytest). The tests make their
# own database on the same server and drop it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_ops.sh
printf '\n== Tests\n'
exec .venv/bin/python -m pytest "$@"
