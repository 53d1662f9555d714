#!/bin/sh
# Patroni runs this once, on the member that initialised the cluster, with a superuser connection
# string as its argument: create the application database (PATRONI_APP_DATABASE, default "shop").
set -eu
db="${PATRONI_APP_DATABASE:-shop}"
psql "$1" -v ON_ERROR_STOP=1 -v db="$db" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') \gexec
SQL
