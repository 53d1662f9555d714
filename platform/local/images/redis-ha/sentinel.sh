#!/bin/sh
# A Sentinel of the group. Environment:
#   SENTINEL_MASTER_NAME (default shop), SENTINEL_MONITOR (the first master's hostname:port),
#   SENTINEL_QUORUM (2), SENTINEL_DOWN_AFTER_MS (2000), SENTINEL_FAILOVER_TIMEOUT_MS (10000),
#   SENTINEL_PEERS (other sentinels, host:port: asked for the current master on a restart).
# The config is written fresh at every start (Sentinel rewrites its own config file).
set -eu
name="${SENTINEL_MASTER_NAME:-shop}"
: "${SENTINEL_MONITOR:?SENTINEL_MONITOR must name the first master (host:port)}"
own_ip="$(hostname -i | awk '{print $1}')"

master=''
for s in ${SENTINEL_PEERS:-}; do
	answer="$(timeout 2 redis-cli -h "${s%:*}" -p "${s##*:}" --raw \
		SENTINEL get-master-addr-by-name "$name" 2>/dev/null || true)"
	port="$(printf '%s\n' "$answer" | sed -n 2p)"
	case "$port" in ''|*[!0-9]*) continue ;; esac
	master="$(printf '%s\n' "$answer" | sed -n 1p) $port"
	break
done
if [ -z "$master" ]; then
	host="${SENTINEL_MONITOR%:*}"
	ip="$(getent hosts "$host" | awk '{print $1; exit}')"
	[ -n "$ip" ] || { echo "sentinel: cannot resolve $host" >&2; exit 1; }
	master="$ip ${SENTINEL_MONITOR##*:}"
fi
echo "sentinel: monitoring $name at $master"

conf=/data/sentinel.conf
cat > "$conf" <<CONF
port 26379
protected-mode no
dir /data
sentinel announce-ip $own_ip
sentinel monitor $name $master ${SENTINEL_QUORUM:-2}
sentinel down-after-milliseconds $name ${SENTINEL_DOWN_AFTER_MS:-2000}
sentinel failover-timeout $name ${SENTINEL_FAILOVER_TIMEOUT_MS:-10000}
sentinel parallel-syncs $name 1
CONF
if [ "$(id -u)" = 0 ]; then
	chown -R redis:redis /data
	exec setpriv --reuid=redis --regid=redis --init-groups redis-sentinel "$conf" "$@"
fi
exec redis-sentinel "$conf" "$@"
