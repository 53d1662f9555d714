#!/bin/sh
# A Redis data node of the Sentinel group. Environment:
#   REDIS_SENTINELS         sentinel host:port list (space-separated)
#   REDIS_MASTER_NAME       the Sentinel master name (default: shop)
#   REDIS_BOOTSTRAP_MASTER  the node that is master when the group is created (a hostname)
# On start: ask each Sentinel for the current master. If one answers, start as its replica (or as
# master when the answer is this node). If none answers and this is the node's first start, take
# the bootstrap role. A node that has run before never starts as master without a Sentinel's
# answer: it waits for one (a restarted ex-master would otherwise accept writes until demoted).
set -eu
master_name="${REDIS_MASTER_NAME:-shop}"
: "${REDIS_BOOTSTRAP_MASTER:?REDIS_BOOTSTRAP_MASTER must name the first master}"
marker=/data/.stormcheck-started
own_ip="$(hostname -i | awk '{print $1}')"

ask_sentinels() {
	for s in ${REDIS_SENTINELS:-}; do
		answer="$(timeout 2 redis-cli -h "${s%:*}" -p "${s##*:}" --raw \
			SENTINEL get-master-addr-by-name "$master_name" 2>/dev/null || true)"
		ip="$(printf '%s\n' "$answer" | sed -n 1p)"
		port="$(printf '%s\n' "$answer" | sed -n 2p)"
		case "$port" in
			''|*[!0-9]*) continue ;;
		esac
		echo "$ip $port"
		return 0
	done
	return 1
}

resolve() {
	getent hosts "$1" | awk '{print $1; exit}'
}

master=''
if found="$(ask_sentinels)"; then
	master="$found"
	echo "redis-node: the Sentinels name $master as master of $master_name"
elif [ ! -e "$marker" ]; then
	if [ "$(hostname)" = "$REDIS_BOOTSTRAP_MASTER" ]; then
		master="$own_ip 6379"
	else
		bootstrap_ip=''
		tries=0
		while [ -z "$bootstrap_ip" ] && [ "$tries" -lt 60 ]; do
			bootstrap_ip="$(resolve "$REDIS_BOOTSTRAP_MASTER" || true)"
			[ -n "$bootstrap_ip" ] || { tries=$((tries + 1)); sleep 0.5; }
		done
		[ -n "$bootstrap_ip" ] || { echo "redis-node: cannot resolve $REDIS_BOOTSTRAP_MASTER" >&2; exit 1; }
		master="$bootstrap_ip 6379"
	fi
	echo "redis-node: first start, no Sentinel answers: bootstrap master is $master"
else
	tries=0
	until found="$(ask_sentinels)"; do
		tries=$((tries + 1))
		if [ "$tries" -ge 60 ]; then
			echo "redis-node: restarted, and no Sentinel named a master for 60 tries: refusing to start" >&2
			exit 1
		fi
		sleep 1
	done
	master="$found"
	echo "redis-node: restarted; the Sentinels name $master as master of $master_name"
fi

set -- redis-server --port 6379 --protected-mode no --dir /data \
	--repl-diskless-sync yes --repl-diskless-sync-delay 0 \
	--replica-announce-ip "$own_ip" "$@"
if [ "${master% *}" != "$own_ip" ]; then
	set -- "$@" --replicaof "${master% *}" "${master#* }"
fi
if [ "$(id -u)" = 0 ]; then
	chown redis:redis /data
	touch "$marker"
	chown redis:redis "$marker"
	exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
touch "$marker"
exec "$@"
