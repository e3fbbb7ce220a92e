#!/bin/sh
# The nightly backup (akims-exchange-backup.service): `flask backup` into BACKUP_DIR, then remove archives older than
# BACKUP_KEEP_DAYS days. Runs from the checkout with the production environment loaded. Exit non-zero on failure,
# so systemd (and its OnFailure= or monitoring) sees it.
set -eu
cd "$(dirname "$0")/.."
: "${BACKUP_DIR:?BACKUP_DIR is not set}"
keep="${BACKUP_KEEP_DAYS:-14}"
mkdir -p "$BACKUP_DIR"
target="$BACKUP_DIR/akims-exchange-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
.venv/bin/flask --app wsgi backup "$target"
find "$BACKUP_DIR" -maxdepth 1 -name 'akims-exchange-*.tar.gz' -type f -mtime +"$keep" -delete
echo "backup written: $target"
