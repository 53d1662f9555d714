#!/bin/sh
# Runs etcd as the unprivileged `etcd` user (created by Debian's package). The data directory's
# parent is usually a tmpfs mounted by root: hand it over first.
set -eu
if [ "${1:-}" = etcd ] && [ "$(id -u)" = 0 ]; then
	parent="$(dirname "$ETCD_DATA_DIR")"
	mkdir -p "$parent"
	chown etcd:etcd "$parent"
	exec setpriv --reuid=etcd --regid=etcd --init-groups "$0" "$@"
fi
exec "$@"
