#!/usr/bin/env bash
# What the benchmarks compare GUSP with, installed for them only (never by the app's set-up):
# ogr2ogr from Debian's gdal-bin (perimeter loading); pyvips comes with the `bench` extras.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v ogr2ogr >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gdal-bin >/dev/null
fi
[ -x .venv/bin/python ] && .venv/bin/python -m pip install -q -e '.[bench]'
ogr2ogr --version
