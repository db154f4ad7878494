#!/bin/sh
# Creates Temporal's two PostgreSQL databases and applies the versioned schema shipped in the
# admin-tools image (so the schema always matches the server release of the same tag).
# Safe to rerun: `create` and `setup-schema -v 0.0` skip what exists, `update-schema` applies only
# the versions not yet recorded — the same script upgrades the schema after a server upgrade.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"
}

for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db="${pair%%:*}"
  dir="${pair##*:}"
  echo "schema: $db ($dir)"
  tool --db "$db" create
  tool --db "$db" setup-schema -v 0.0
  tool --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "schema: done"
