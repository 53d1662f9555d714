#!/bin/sh
# Writes the proxies of TOXIPROXY_PROXIES ("name=listen_port=upstream_host:port" entries, separated
# by spaces) to a config file that toxiproxy-server loads at start, then runs it as nobody with
# its API on 0.0.0.0:8474.
set -eu
if [ "${1:-}" = toxiproxy-server ]; then
	config=/tmp/toxiproxy.json
	sep=''
	{
		printf '['
		for entry in ${TOXIPROXY_PROXIES:-}; do
			name="${entry%%=*}"
			rest="${entry#*=}"
			listen="${rest%%=*}"
			upstream="${rest#*=}"
			if [ -z "$name" ] || [ -z "$listen" ] || [ "${upstream#*:}" = "$upstream" ] \
				|| [ "${listen#*[!0-9]}" != "$listen" ] || [ "$upstream" != "${upstream%%=*}" ]; then
				echo "toxiproxy entrypoint: bad entry '$entry' (want name=port=host:port)" >&2
				exit 2
			fi
			printf '%s{"name":"%s","listen":"0.0.0.0:%s","upstream":"%s","enabled":true}' \
				"$sep" "$name" "$listen" "$upstream"
			sep=','
		done
		printf ']\n'
	} > "$config"
	chmod 0644 "$config"
	shift
	exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
		toxiproxy-server -host 0.0.0.0 -port 8474 -config "$config" "$@"
fi
exec "$@"
