#!/bin/sh
# Renders /etc/haproxy/haproxy.cfg from the template of HAPROXY_MODE, adding one `server` line per
# entry of the server lists (space-separated host:port), then runs HAProxy in master-worker mode.
#   ingress: INGRESS_SERVERS, INGRESS_RATE_LIMIT (requests/s per client before 429),
#            INGRESS_LOAD_GENERATORS (space-separated addresses or CIDRs exempt from that limit:
#            the allow-list `load_generator`, written to /etc/haproxy/load-generators.lst; empty:
#            every client is limited),
#            INGRESS_MAXCONN (per server and backend; beyond it requests queue); the checked
#            servers go at `# @servers` (backend shop), servers tracking them at each
#            `# @tracking-servers` (the journeys' backends);
#            INGRESS_HEALTH_CHECKS (`on`, the default, or `off`: a sabotaged variant for negative
#            controls, whose servers carry no `check` and journeys track nothing, so a dead or
#            hung replica keeps its share of the traffic)
#   data:    DATA_POSTGRES_SERVERS (host:port, Patroni REST on PATRONI_API_PORT, default 8008),
#            DATA_REDIS_SERVERS
# HAProxy expands ${VAR} in the template itself. `render` (instead of `haproxy`) prints the checked
# configuration and exits.
set -eu
cfg=/etc/haproxy/haproxy.cfg

servers() {
	# $1 = space-separated host:port list, $2 = extra server options
	for addr in $1; do
		printf '    server %s %s %s\n' "${addr%%:*}" "$addr" "$2"
	done
}

render() {
	mode="${HAPROXY_MODE:-}"
	case "$mode" in
		ingress)
			: "${INGRESS_SERVERS:?INGRESS_SERVERS must list the API replicas (host:port ...)}"
			export INGRESS_RATE_LIMIT="${INGRESS_RATE_LIMIT:-200}"
			export INGRESS_MAXCONN="${INGRESS_MAXCONN:-64}"
			for addr in ${INGRESS_LOAD_GENERATORS:-}; do
				printf '%s\n' "$addr"
			done > /etc/haproxy/load-generators.lst
			case "${INGRESS_HEALTH_CHECKS:-on}" in
				on)
					checked=$(servers "$INGRESS_SERVERS" "check maxconn ${INGRESS_MAXCONN}")
					tracking=$(for addr in $INGRESS_SERVERS; do
						printf '    server %s %s track shop/%s maxconn %s\n' \
							"${addr%%:*}" "$addr" "${addr%%:*}" "$INGRESS_MAXCONN"
					done)
					;;
				off)
					checked=$(servers "$INGRESS_SERVERS" "maxconn ${INGRESS_MAXCONN}")
					tracking="$checked"
					;;
				*)
					echo "haproxy entrypoint: INGRESS_HEALTH_CHECKS must be on or off, got '${INGRESS_HEALTH_CHECKS}'" >&2
					exit 2
					;;
			esac
			CHECKED="$checked" TRACKING="$tracking" awk '
				/^# @servers$/ { print ENVIRON["CHECKED"]; next }
				/^# @tracking-servers$/ { print ENVIRON["TRACKING"]; next }
				{ print }
			' /etc/haproxy/templates/ingress.cfg > "$cfg"
			;;
		data)
			: "${DATA_POSTGRES_SERVERS:?DATA_POSTGRES_SERVERS must list the Patroni members (host:port ...)}"
			: "${DATA_REDIS_SERVERS:?DATA_REDIS_SERVERS must list the Redis nodes (host:port ...)}"
			api_port="${PATRONI_API_PORT:-8008}"
			{
				sed -n '1,/^# @postgres-servers/p' /etc/haproxy/templates/data.cfg
				servers "$DATA_POSTGRES_SERVERS" "check port ${api_port}"
				sed -n '/^# @postgres-servers/,/^# @redis-servers/p' /etc/haproxy/templates/data.cfg | sed '1d'
				servers "$DATA_REDIS_SERVERS" "check"
			} > "$cfg"
			;;
		*)
			echo "haproxy entrypoint: HAPROXY_MODE must be ingress or data, got '${mode}'" >&2
			exit 2
			;;
	esac
	haproxy -c -q -f "$cfg"
}

case "${1:-}" in
	haproxy)
		render
		exec haproxy -W -db -f "$cfg"
		;;
	render)
		# render and check the configuration, print it, exit (what the static tests read)
		render
		cat "$cfg"
		exit 0
		;;
esac
exec "$@"
