#!/usr/bin/env bash
# Entrypoint for the stormcheck postgres image: behaves like the official postgres:15
# image's docker-entrypoint.sh (same variables, same first-start initialisation, same
# /docker-entrypoint-initdb.d handling), but drops privileges with setpriv (util-linux)
# instead of gosu.
#
#   docker run IMG                      -> postgres
#   docker run IMG -c max_connections=50 -> postgres -c max_connections=50
#   docker run IMG postgres -c ...       -> same
#   docker run IMG psql --version        -> runs the command as given, no setup
set -eu -o pipefail

# VAR_FILE support (Docker secrets): VAR takes the contents of the file named by VAR_FILE.
file_env() {
	local var="$1" file_var="${1}_FILE" def="${2:-}" val
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		echo >&2 "error: both $var and $file_var are set (but are exclusive)"
		exit 1
	fi
	val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!file_var:-}" ]; then
		val="$(< "${!file_var}")"
	fi
	export "$var"="$val"
	unset "$file_var"
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	: "${POSTGRES_INITDB_WALDIR:=}"
	export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# Create PGDATA and the socket directory; as root also hand them to postgres.
create_db_directories() {
	local uid
	uid="$(id -u)"
	mkdir -p "$PGDATA"
	mkdir -p /var/run/postgresql || :
	if [ "$uid" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
	# chmod after chown (chown drops the setgid bit); may fail on some volume types
	# (e.g. a bind mount not owned by us): not fatal, as upstream
	chmod 00700 "$PGDATA" || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$uid" = 0 ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
}

verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOM'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.
		EOM
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		echo >&2 'WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust": no password is needed to connect.'
	fi
}

init_database_dir() {
	if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi
	# eval so that POSTGRES_INITDB_ARGS may contain quoted words, exactly like upstream;
	# --pwfile refuses a truly empty file, hence the "\n"
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "$@"'
}

# Remote hosts authenticate with the server's password_encryption method (scram-sha-256
# by default on 15) unless POSTGRES_HOST_AUTH_METHOD says otherwise. initdb's own
# local/loopback entries (trust) are kept, as upstream does.
setup_hba_conf() {
	local method
	if [ "${1:-}" = postgres ]; then shift; fi
	method="$(postgres -C password_encryption "$@")"
	: "${POSTGRES_HOST_AUTH_METHOD:=$method}"
	{
		echo
		if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
			echo '# warning trust is enabled for all connections'
		fi
		echo "host all all all $POSTGRES_HOST_AUTH_METHOD"
	} >> "$PGDATA/pg_hba.conf"
}

# psql over the unix socket as the superuser; PGHOST/PGHOSTADDR are cleared so that an
# environment aimed at another server cannot redirect the init scripts.
process_sql() {
	local runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ -n "$POSTGRES_DB" ]; then
		runner+=(--dbname "$POSTGRES_DB")
	fi
	PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

# POSTGRES_DB='' below only stops process_sql adding its own --dbname; the --set value
# deliberately expands the real POSTGRES_DB (hence SC2097/SC2098 disabled).
# shellcheck disable=SC2097,SC2098
setup_db() {
	local exists
	exists="$(POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)"
	if [ -z "$exists" ]; then
		POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
		echo
	fi
}

# Run *.sh (executed if executable, else sourced) and *.sql[.gz|.xz|.zst] files in
# the order the glob gives (sorted by name in the C locale of the shell).
process_init_files() {
	local f
	echo
	for f; do
		[ -e "$f" ] || continue
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					echo "$0: running $f"
					"$f"
				else
					echo "$0: sourcing $f"
					# scripts written for the official image may use unset variables
					set +u
					# shellcheck disable=SC1090
					. "$f"
					set -u
				fi
				;;
			*.sql)     echo "$0: running $f"; process_sql -f "$f"; echo ;;
			*.sql.gz)  echo "$0: running $f"; gunzip -c "$f" | process_sql; echo ;;
			*.sql.xz)  echo "$0: running $f"; xzcat "$f" | process_sql; echo ;;
			*.sql.zst) echo "$0: running $f"; zstd -dc "$f" | process_sql; echo ;;
			*)         echo "$0: ignoring $f" ;;
		esac
		echo
	done
}

# Temporary server for the init scripts: unix socket only, so that nothing can connect
# over TCP before initialisation is complete. The user's extra postgres args are kept.
temp_server_start() {
	if [ "${1:-}" = postgres ]; then shift; fi
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# Options that only print something: no initialisation needed.
want_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?'|--help|--describe-config|-V|--version) return 0 ;;
		esac
	done
	return 1
}

main() {
	# `docker run IMG -c foo=bar` -> `postgres -c foo=bar`
	if [ "${1:-}" != "" ] && [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "${1:-}" = postgres ] && ! want_help "$@"; then
		setup_env
		create_db_directories
		if [ "$(id -u)" = 0 ]; then
			# re-run this script as postgres; exec keeps PID 1 (postgres ends up as PID 1)
			export HOME=/var/lib/postgresql
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			verify_minimum_env
			# fail early (before initdb) if the init directory is unreadable
			ls /docker-entrypoint-initdb.d/ > /dev/null
			init_database_dir
			setup_hba_conf "$@"
			# the temporary server trusts local connections, but scripts may use TCP
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start "$@"
			setup_db
			process_init_files /docker-entrypoint-initdb.d/*
			temp_server_stop
			unset PGPASSWORD
			echo
			echo 'PostgreSQL init process complete; ready for start up.'
			echo
		else
			echo
			echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
			echo
		fi
	fi

	exec "$@"
}

main "$@"
