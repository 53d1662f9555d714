#!/bin/sh
# Runs etcd as the unprivileged `etcd` user (created by Debian's package). The data directory's
# parent is usually a tmpfs mounted by root: hand it over first.
#
# The tmpfs is new at every start, so a member that was killed and started again comes back with
# an empty data directory, and the cluster already knows it: started as a "new" member it would
# never rejoin. A marker in the container's own filesystem (which survives a restart, unlike the
# tmpfs) tells a restart from the first start; on a restart the member is removed and added again
# through the other members (etcd's documented way to replace a member) and starts as "existing".
set -eu

STARTED_MARKER=/var/lib/stormcheck-etcd-started

rejoin_if_restarted() {
	[ "${STORMCHECK_ETCD_RESTART:-}" = 1 ] || return 0
	[ -z "$(ls -A "$ETCD_DATA_DIR" 2>/dev/null)" ] || return 0
	peers=""
	for entry in $(echo "$ETCD_INITIAL_CLUSTER" | tr ',' ' '); do
		name="${entry%%=*}"
		[ "$name" = "$ETCD_NAME" ] && continue
		host="${entry#*=http://}"
		peers="${peers:+$peers,}http://${host%%:*}:2379"
	done
	[ -n "$peers" ] || return 0
	ctl="etcdctl --endpoints=$peers --dial-timeout=2s --command-timeout=5s"
	list="$(ETCDCTL_API=3 $ctl member list 2>/dev/null)" || return 0
	if line="$(echo "$list" | grep ", $ETCD_NAME, ")"; then
		id="${line%%,*}"
		echo "etcd $ETCD_NAME: restarted on an empty data directory; replacing member $id" >&2
		ETCDCTL_API=3 $ctl member remove "$id" >&2
	fi
	# a cluster that has just lost a member refuses a new one for a moment: retry, bounded
	tries=0
	until ETCDCTL_API=3 $ctl member add "$ETCD_NAME" --peer-urls="$ETCD_INITIAL_ADVERTISE_PEER_URLS" >&2; do
		tries=$((tries + 1))
		[ "$tries" -lt 20 ] || { echo "etcd $ETCD_NAME: could not rejoin" >&2; exit 1; }
		sleep 1
	done
	export ETCD_INITIAL_CLUSTER_STATE=existing
}

if [ "${1:-}" = etcd ] && [ "$(id -u)" = 0 ]; then
	parent="$(dirname "$ETCD_DATA_DIR")"
	mkdir -p "$parent"
	chown etcd:etcd "$parent"
	if [ -e "$STARTED_MARKER" ]; then
		export STORMCHECK_ETCD_RESTART=1
	else
		touch "$STARTED_MARKER"
	fi
	exec setpriv --reuid=etcd --regid=etcd --init-groups "$0" "$@"
fi
if [ "${1:-}" = etcd ]; then
	rejoin_if_restarted
fi
exec "$@"
