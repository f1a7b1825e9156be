#!/usr/bin/env bash
# What the operations tests need beyond the app: Debian's nginx (the reverse proxy of deploy/) and
# openssl. Installed without starting Debian's default site: the tests run nginx with their own
# configuration. Idempotent; called by scripts/test.sh. Run as root or with sudo on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
    printf '\n== Installation de %s (tests de mise en production)\n' "${missing[*]}"
    # Keep the package's scripts from starting the default site on port 80 (policy-rc.d, as in containers).
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod +x "$policy"
        made_policy=1
    fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
    [ "$made_policy" -eq 1 ] && $SUDO rm -f "$policy"
    [ "${status:-0}" -eq 0 ] || exit "$status"
fi
