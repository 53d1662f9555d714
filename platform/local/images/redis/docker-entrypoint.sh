#!/bin/sh
# Entrypoint for the stormcheck redis image: behaves like the official redis:7.2 image's
# docker-entrypoint.sh, plus two differences needed because this is Debian's redis:
#   - Debian's redis-server is built with protected-mode *on* by default; the official
#     image patches the default to off. We pass `--protected-mode no` unless the command
#     line or the config file given as first argument sets protected-mode itself
#     (a protected-mode line only reached through an `include` is not detected).
#   - privileges are dropped with setpriv (util-linux) instead of gosu, and also for
#     redis-sentinel (used by the Sentinel role).
set -eu

# first arg is `-f` / `--some-option`, or `something.conf`: run redis-server with it
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
	pm_set=no
	for arg in "$@"; do
		if [ "$arg" = --protected-mode ]; then pm_set=yes; fi
	done
	# redis-server's config file can only be the first argument
	if [ "$#" -ge 2 ] && [ "${2#-}" = "$2" ] && [ -r "$2" ] \
		&& grep -Eqi '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
		pm_set=yes
	fi
	if [ "$pm_set" = no ]; then
		set -- "$@" --protected-mode no
	fi
fi

# started as root: hand the working directory (/data) to redis and re-run as redis;
# `docker run --user ...` skips this, as upstream
if { [ "$1" = redis-server ] || [ "$1" = redis-sentinel ]; } && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# same umask as upstream (files in /data readable only by redis), unless one was set
if [ "$(umask)" = 0022 ]; then
	umask 0077
fi

exec "$@"
