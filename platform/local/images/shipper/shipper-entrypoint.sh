#!/bin/sh
# Renders the rsyslog configuration from the environment, installs the log index template in
# OpenSearch (so that no daily index is ever created with a guessed mapping), then runs rsyslogd
# in the foreground.
#
#   SHIPPER_RUN              the run id whose containers' lines are shipped (required)
#   SHIPPER_OPENSEARCH       host:port of OpenSearch inside the run's network (required)
#   SHIPPER_INDEX_TEMPLATE   the composable index template's JSON body (required)
#   SHIPPER_TEMPLATE_NAME    its name (default stormcheck-logs)
#   SHIPPER_LOG_GLOB         the json-file logs (default /docker/containers/*/*-json.log)
#   SHIPPER_ES_MAJOR         omelasticsearch's esVersion.major; 8 sends no _type, which
#                            OpenSearch 2.x and Elasticsearch 8 refuse (default 8)
set -eu

fail() { echo "shipper: $*" >&2; exit 64; }

[ -n "${SHIPPER_RUN:-}" ] || fail "SHIPPER_RUN is not set: which run's logs to ship"
[ -n "${SHIPPER_OPENSEARCH:-}" ] || fail "SHIPPER_OPENSEARCH is not set: expected host:port"
[ -n "${SHIPPER_INDEX_TEMPLATE:-}" ] || fail "SHIPPER_INDEX_TEMPLATE is not set: expected JSON"
case "$SHIPPER_RUN" in *[!A-Za-z0-9_.-]*) fail "SHIPPER_RUN '$SHIPPER_RUN' has characters other than A-Za-z0-9_.-" ;; esac
case "$SHIPPER_OPENSEARCH" in *[!A-Za-z0-9_.:-]*) fail "SHIPPER_OPENSEARCH '$SHIPPER_OPENSEARCH' is not host:port" ;; esac
glob=${SHIPPER_LOG_GLOB:-/docker/containers/*/*-json.log}
template_name=${SHIPPER_TEMPLATE_NAME:-stormcheck-logs}

sed -e "s|@LOG_GLOB@|$glob|" \
    -e "s|@RUN@|$SHIPPER_RUN|" \
    -e "s|@OPENSEARCH@|$SHIPPER_OPENSEARCH|" \
    -e "s|@ES_MAJOR@|${SHIPPER_ES_MAJOR:-8}|" \
    /etc/stormcheck/rsyslog.conf.in > /etc/rsyslog.conf
rsyslogd -N1 -f /etc/rsyslog.conf >/dev/null

# The store may still be starting, or stopped: the logs stay in Docker's files meanwhile, and
# imfile reads them from where it stopped once this succeeds.
url="http://$SHIPPER_OPENSEARCH/_index_template/$template_name"
until printf '%s' "$SHIPPER_INDEX_TEMPLATE" | curl -fsS -o /dev/null -X PUT \
        -H 'Content-Type: application/json' --data-binary @- --max-time 5 "$url"; do
    echo "shipper: cannot install the index template at $url yet; retrying" >&2
    sleep 2
done
echo "shipper: index template $template_name installed; shipping run $SHIPPER_RUN"

rm -f /var/run/rsyslogd.pid
exec rsyslogd -n -f /etc/rsyslog.conf
