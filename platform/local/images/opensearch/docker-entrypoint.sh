#!/bin/bash
# Starts the node like the official image's entrypoint does: environment variables that look
# like settings (lower case with a dot, e.g. discovery.type=single-node) become -E options, and
# OPENSEARCH_JAVA_OPTS is appended to config/jvm.options. The official image's security switches
# (DISABLE_SECURITY_PLUGIN, DISABLE_INSTALL_DEMO_CONFIG) are accepted and have nothing to do here:
# this node has no security plugin.
set -euo pipefail
home=/usr/share/opensearch
conf=${OPENSEARCH_PATH_CONF:-$home/config}

opts=()
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    opts+=("$line")
done < "$conf/jvm.options"
# shellcheck disable=SC2206 # word splitting is what OPENSEARCH_JAVA_OPTS means
opts+=(${OPENSEARCH_JAVA_OPTS:-})

settings=()
while IFS='=' read -r -d '' name value; do
    if [[ "$name" =~ ^[a-z0-9_]+\.[a-z0-9_]+[a-z0-9_.-]*$ ]]; then
        settings+=("-E$name=$value")
    fi
done < <(env -0)

exec java "${opts[@]}" \
    -Dopensearch.path.home="$home" \
    -Dopensearch.path.conf="$conf" \
    -Dopensearch.distribution.type=docker \
    -Dopensearch.bundled_jdk=false \
    -cp "$home/lib/*" \
    org.opensearch.bootstrap.OpenSearch "${settings[@]}" "$@"
