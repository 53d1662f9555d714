#!/bin/sh
# Starts Patroni as postgres. As root: hand the data volume and the socket tmpfs to postgres
# (both are mounted root-owned), then re-run as postgres. Patroni handles being PID 1.
set -eu
if [ "${1:-}" = patroni ] && [ "$(id -u)" = 0 ]; then
	for var in PATRONI_NAME PATRONI_SUPERUSER_PASSWORD PATRONI_REPLICATION_PASSWORD PATRONI_ETCD3_HOSTS; do
		eval "value=\${$var:-}"
		if [ -z "$value" ]; then
			echo "patroni entrypoint: $var must be set" >&2
			exit 2
		fi
	done
	mkdir -p /var/lib/postgresql/data /var/run/postgresql
	chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql
	chmod 0700 /var/lib/postgresql/data
	chmod 3777 /var/run/postgresql
	export HOME=/var/lib/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
exec "$@"
