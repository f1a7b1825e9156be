#!/usr/bin/env bash
# Install GUSP for production on a Debian 12 server, from this checkout (idempotent: run it again to
# upgrade). What it sets up, in order:
#   Debian packages (PostgreSQL + PostGIS, nginx, Python, Node.js for the web libraries, fonts),
#   a system user `gusp`, the code in /opt/gusp (owned by root, read-only for the service),
#   a PostgreSQL role `gusp` with a generated password (scram-sha-256, no `trust`),
#   /etc/gusp/gusp.env (settings and secrets, root:gusp 0640, kept on later runs),
#   the schema and the perimeters, a self-signed certificate unless one is there,
#   nginx (HTTPS, HTTP→HTTPS) and the systemd units (web, worker, nightly timer), then `gusp check`.
#
#   sudo bash scripts/install-server.sh --server-name signalements.ville.fr [--workers 4]
#        [--app-dir /opt/gusp] [--media-dir /var/lib/gusp/media] [--smtp-host relais.ville.fr]
set -euo pipefail
SOURCE=$(cd "$(dirname "$0")/.." && pwd)

SERVER_NAME=""
APP_DIR=/opt/gusp
MEDIA_DIR=/var/lib/gusp/media
WORKERS=$(( $(nproc) > 1 ? $(nproc) : 2 ))
SMTP_HOST=127.0.0.1
APP_PORT=8000
while [ $# -gt 0 ]; do
    case "$1" in
        --server-name) SERVER_NAME=$2; shift 2 ;;
        --app-dir) APP_DIR=$2; shift 2 ;;
        --media-dir) MEDIA_DIR=$2; shift 2 ;;
        --workers) WORKERS=$2; shift 2 ;;
        --smtp-host) SMTP_HOST=$2; shift 2 ;;
        --app-port) APP_PORT=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "Option inconnue : $1 (voir --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$SERVER_NAME" ]; then
    echo "Indiquez le nom du site : --server-name signalements.ville.fr" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Lancez ce script en root (sudo)." >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
ENV_FILE=/etc/gusp/gusp.env
say() { printf '\n== %s\n' "$*"; }
# Run a command with the settings of /etc/gusp/gusp.env (a systemd EnvironmentFile, also valid shell).
with_settings() { bash -c 'set -a; . "$0"; set +a; exec "$@"' "$ENV_FILE" "$@"; }
as_gusp() { runuser -u gusp -- bash -c 'set -a; . "$0"; set +a; exec "$@"' "$ENV_FILE" "$@"; }

say "Paquets Debian"
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql nginx python3-venv python3-pip nodejs npm \
    fonts-dejavu-core openssl ca-certificates rsync tzdata >/dev/null
PG_VERSION=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
apt-get install -y -qq --no-install-recommends "postgresql-${PG_VERSION}-postgis-3" >/dev/null
pg_lsclusters -h | awk '$4 != "online" {print $1, $2}' | while read -r version cluster; do
    pg_ctlcluster "$version" "$cluster" start
done

say "Utilisateur système gusp"
id gusp >/dev/null 2>&1 || adduser --system --group --home /var/lib/gusp --no-create-home gusp >/dev/null
install -d -o gusp -g gusp -m 0750 /var/lib/gusp "$MEDIA_DIR" /var/backups/gusp

say "Code dans $APP_DIR"
if [ "$SOURCE" != "$APP_DIR" ]; then
    install -d -m 0755 "$APP_DIR"
    rsync -a --delete --exclude .git --exclude .venv --exclude 'web/node_modules' --exclude var \
        --exclude '__pycache__' --exclude 'tests/web/artefacts' "$SOURCE/" "$APP_DIR/"
fi
chown -R root:root "$APP_DIR"
[ -x "$APP_DIR/.venv/bin/python" ] || python3 -m venv "$APP_DIR/.venv"
"$APP_DIR/.venv/bin/pip" install -q --upgrade pip
"$APP_DIR/.venv/bin/pip" install -q -e "$APP_DIR"  # editable: the app finds web/ and data/ beside it
(cd "$APP_DIR/web" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
GUSP="$APP_DIR/.venv/bin/gusp"

say "PostgreSQL : rôle gusp (mot de passe, scram-sha-256) et base gusp"
install -d -m 0750 -o root -g gusp /etc/gusp
if [ ! -f "$ENV_FILE" ]; then
    DB_PASSWORD=$(openssl rand -hex 24)
    runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -v pw="$DB_PASSWORD" <<'SQL'
SET password_encryption = 'scram-sha-256';
SELECT format('CREATE ROLE gusp LOGIN PASSWORD %L', :'pw') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gusp') \gexec
SELECT format('ALTER ROLE gusp PASSWORD %L', :'pw') \gexec
SELECT 'CREATE DATABASE gusp OWNER gusp' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gusp') \gexec
SQL
    umask 027
    cat > "$ENV_FILE" <<ENV
# GUSP settings (README, "Settings"). Secrets: keep this file root:gusp 0640.
GUSP_ENV=production
GUSP_DATABASE_URL=postgresql+psycopg://gusp:${DB_PASSWORD}@127.0.0.1:5432/gusp
GUSP_MEDIA_DIR=${MEDIA_DIR}
GUSP_PUBLIC_URL=https://${SERVER_NAME}
GUSP_WEB_WORKERS=${WORKERS}
GUSP_LOG_FORMAT=json
GUSP_METRICS_TOKEN=$(openssl rand -hex 24)
GUSP_SMTP_HOST=${SMTP_HOST}
GUSP_SMTP_PORT=25
GUSP_MAIL_FROM="GUSP <ne-pas-repondre@${SERVER_NAME}>"
ENV
    chown root:gusp "$ENV_FILE"
    chmod 0640 "$ENV_FILE"
fi
# PostGIS is not a trusted extension: the superuser creates it, the migrations find it there.
runuser -u postgres -- psql -q -d gusp -c "CREATE EXTENSION IF NOT EXISTS postgis"

say "Schéma et périmètres"
as_gusp "$GUSP" db upgrade
as_gusp "$GUSP" perimeters load "$APP_DIR/data/qpv_perimetres.geojson"

say "Certificat, nginx et systemd"
"$GUSP" deploy certificate --directory /etc/gusp/tls --host "$SERVER_NAME"
chgrp -R root /etc/gusp/tls
with_settings "$GUSP" deploy render --root / --server-name "$SERVER_NAME" \
    --app-dir "$APP_DIR" --env-file "$ENV_FILE" --app-port "$APP_PORT"
ln -sf /etc/nginx/sites-available/gusp.conf /etc/nginx/sites-enabled/gusp.conf
rm -f /etc/nginx/sites-enabled/default
nginx -t
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now gusp-web.service gusp-worker.service gusp-daily.timer gusp-backup.timer
    systemctl restart gusp-web.service gusp-worker.service
    systemctl reload-or-restart nginx
else
    echo "systemd ne tourne pas ici : démarrez gusp-web, gusp-worker et nginx vous-même." >&2
fi

say "Vérification (gusp check)"
as_gusp "$GUSP" check || {
    echo "Corrigez les points BLOQUANTS ci-dessus (/etc/gusp/gusp.env), puis relancez ce script." >&2
    exit 1
}
