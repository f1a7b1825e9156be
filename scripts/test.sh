#!/usr/bin/env bash
# Set everything up, then run the tests (extra arguments go to pytest). The tests make their
# own database on the same server and drop it at the end.
# Then the tests marked `clock` run again at the instants where Paris time and UTC disagree
# (tests/clock.py): 23:30 UTC, 31 December 23:30 UTC, and across both daylight-saving changes.
# GUSP_TEST_CLOCK_RUNS=0 skips those runs.
set -euo pipefail
export GUSP_ENV=development  # the tests' servers have no public address
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_ops.sh
printf '\n== Tests\n'
.venv/bin/python -m pytest "$@"
if [ "${GUSP_TEST_CLOCK_RUNS:-1}" = 0 ]; then
  exit 0
fi
for instant in late new-year dst-spring dst-autumn; do
  printf '\n== Tests marqués clock, horloge déplacée (%s)\n' "$instant"
  status=0
  .venv/bin/python -m pytest -m clock --clock="$instant" -p no:cacheprovider "$@" || status=$?
  # 5: no test selected, acceptable only when the arguments chose a part of the suite without any.
  if [ "$status" -ne 0 ] && { [ "$status" -ne 5 ] || [ $# -eq 0 ]; }; then
    exit "$status"
  fi
done
