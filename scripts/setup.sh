#!/usr/bin/env bash
# Set GUSP up on Debian 12 (idempotent): PostgreSQL + PostGIS, the Python environment,
# the database schema, the categories and the perimeters. Run as root or with sudo.
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
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
say() { printf '\n== %s\n' "$*"; }

DB_URL="${GUSP_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/gusp}"
DB_HOST=$(python3 - "$DB_URL" <<'PY'
import sys, urllib.parse
print(urllib.parse.urlsplit(sys.argv[1]).hostname or "localhost")
PY
)

# 1. PostgreSQL and PostGIS, when the database is on this machine.
if [ "$DB_HOST" = "127.0.0.1" ] || [ "$DB_HOST" = "localhost" ]; then
    FRESH_SERVER=0
    if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
        say "Installation de PostgreSQL"
        apt_install postgresql
        FRESH_SERVER=1
    fi
    while read -r version cluster _port status _rest; do
        if ! installed "postgresql-${version}-postgis-3"; then
            say "Installation de PostGIS pour PostgreSQL ${version}"
            apt_install "postgresql-${version}-postgis-3"
        fi
        if [ "$status" != "online" ]; then
            $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
        fi
        if [ "$FRESH_SERVER" -eq 1 ]; then
            # A server installed here is a development one: let the postgres role in over
            # loopback without a password, as the default GUSP_DATABASE_URL expects.
            hba="/etc/postgresql/${version}/${cluster}/pg_hba.conf"
            if ! grep -q "gusp-dev" "$hba"; then
                $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust # gusp-dev\nhost all postgres ::1/128 trust # gusp-dev' "$hba"
                $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload
            fi
        fi
    done < <(pg_lsclusters -h)
fi

# 2. Fonts of the PDF documents (French accents and typography), then the Python environment.
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    say "Installation des polices DejaVu (documents PDF)"
    apt_install fonts-dejavu-core
fi

if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "GUSP demande Python 3.11 ou plus récent (python3 --version)." >&2
    exit 1
fi
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    say "Installation de python3-venv"
    apt_install python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
STAMP=.venv/.gusp-installed
WANTED=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANTED" ]; then
    say "Installation des dépendances Python"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$WANTED" > "$STAMP"
fi

# 3. The web front-end's libraries (npm) and the browser of the web tests.
[ -f scripts/setup_web.sh ] && bash scripts/setup_web.sh

# 4. The database: schema (Alembic), categories, perimeters.
say "Base de données"
.venv/bin/gusp db upgrade
.venv/bin/gusp perimeters load "${GUSP_PERIMETERS_FILE:-data/qpv_perimetres.geojson}"
