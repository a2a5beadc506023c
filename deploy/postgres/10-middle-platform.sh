#!/bin/bash
# Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d): the middle
# platform gets a database and an owner of its own beside Airflow's metadata database. The middle
# platform's connection (AIRFLOW_CONN_MDM_POSTGRES in docker-compose.yaml) uses the same names.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v password="$MDM_DB_PASSWORD" <<'SQL'
CREATE ROLE expense_sync LOGIN PASSWORD :'password';
CREATE DATABASE expense_sync OWNER expense_sync;
SQL
