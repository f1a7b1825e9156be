#!/usr/bin/env bash
# Set everything up, then serve GUSP on http://127.0.0.1:8000 (GUSP_HOST / GUSP_PORT to change).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# A trial on this machine: mail links may be relative (production sets GUSP_PUBLIC_URL, see README).
export GUSP_ENV="${GUSP_ENV:-development}"
printf '\n== GUSP sur http://%s:%s\n' "${GUSP_HOST:-127.0.0.1}" "${GUSP_PORT:-8000}"
exec .venv/bin/gusp serve --host "${GUSP_HOST:-127.0.0.1}" --port "${GUSP_PORT:-8000}"
