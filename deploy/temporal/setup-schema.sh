#!/bin/sh
# Create or upgrade Temporal's two PostgreSQL databases with temporal-sql-tool (admin-tools image).
# Idempotent: runs on every `docker compose up` and only applies what is missing.
set -eu
# docker-compose.yml starts this only once PostgreSQL reports healthy.

: "${SQL_HOST:?}" "${SQL_PORT:=5432}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

tool() {
  temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" --pw "$SQL_PASSWORD" "$@"
}

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) versioned="$SCHEMA_DIR/temporal/versioned" ;;
    *) versioned="$SCHEMA_DIR/visibility/versioned" ;;
  esac
  # create-database fails when the database exists; the two steps after it fail loudly on real errors.
  tool --db "$db" create-database || echo "database $db already exists"
  tool --db "$db" setup-schema -v 0.0
  tool --db "$db" update-schema -d "$versioned"
done
echo "Temporal schema is up to date"
