#!/usr/bin/env bash
# The web front-end's libraries (npm, from web/package-lock.json) and the browser of the web tests
# (Debian's chromium, driven by Playwright). Idempotent and quick when everything is there.
# Called by scripts/setup.sh; run as root or with sudo on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" -eq 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
say() { printf '\n== %s\n' "$*"; }

# 1. Node.js and npm (only when there is no node at all: a newer one installed otherwise is kept).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "Installation de Node.js et npm"
    apt_install nodejs npm
fi

# 2. Chromium for the browser tests (never a browser downloaded by Playwright).
if ! command -v chromium >/dev/null 2>&1; then
    say "Installation de Chromium (tests du navigateur)"
    apt_install chromium
fi

# 3. The libraries, exactly as locked; again only when the lockfile changed since the last install.
STAMP=web/node_modules/.gusp-installed
if [ -f web/package-lock.json ]; then
    WANTED=$(sha256sum web/package.json web/package-lock.json | sha256sum | cut -d' ' -f1)
    if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANTED" ]; then
        say "Installation des bibliothèques web (npm ci)"
        (cd web && npm ci --include=dev --no-audit --no-fund --loglevel=error)
        echo "$WANTED" > "$STAMP"
    fi
else
    say "Installation des bibliothèques web (npm install, sans fichier de verrouillage)"
    (cd web && npm install --include=dev --no-audit --no-fund --loglevel=error)
fi
