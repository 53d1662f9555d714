#!/usr/bin/env bash
# Sets up everything the harness needs on a fresh Debian machine, idempotently and offline-safe:
#   bootstrap.sh python   Debian packages, Python 3.12, uv, and the locked project venv (.venv)
#   bootstrap.sh engine   a Docker engine (installed and started only when none answers)
#   bootstrap.sh images   the image catalogue (offline base via debootstrap when no registry answers)
#   bootstrap.sh tools    pinned tools (Toxiproxy and Helm from the Go module proxy, checkov from PyPI)
# Caches live under ${XDG_CACHE_HOME:-~/.cache}/stormcheck, keyed by version.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/stormcheck"
UV_VERSION=0.13.9
PYTHON_VERSION=3.12
DEBIAN_PACKAGES=(docker.io debootstrap iptables ca-certificates git make prometheus maven openjdk-17-jdk-headless prometheus-alertmanager wrk chromium)

log() { printf '[bootstrap] %s\n' "$*" >&2; }

apt_packages() {
    local missing=()
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        log "missing Debian packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})"
        return 1
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Packages such as prometheus and docker.io start their daemons on install; we start what we
    # need ourselves, so deny service starts for the duration (unless a policy is already in place).
    local policy=/usr/sbin/policy-rc.d own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
    fi
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update >/dev/null
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    } || { [ -z "$own_policy" ] || rm -f "$policy"; return 1; }
    [ -z "$own_policy" ] || rm -f "$policy"
}

find_python() {
    local candidate
    for candidate in "python$PYTHON_VERSION" "$HOME"/.pyenv/versions/"$PYTHON_VERSION".*/bin/python"$PYTHON_VERSION" \
                     /usr/local/bin/python"$PYTHON_VERSION" /usr/bin/python"$PYTHON_VERSION"; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import ssl, venv' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    log "Python $PYTHON_VERSION not found (the newest chaostoolkit-lib needs it): install it, e.g. with pyenv"
    return 1
}

ensure_uv() {
    local dir="$CACHE/tools/uv-$UV_VERSION"
    if [ ! -f "$dir/.complete" ]; then
        log "installing uv $UV_VERSION into $dir"
        rm -rf "$dir"
        "$1" -m venv "$dir" >&2
        "$dir/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2
        touch "$dir/.complete"
    fi
    echo "$dir/bin/uv"
}

cmd_python() {
    apt_packages
    local python uv
    python=$(find_python)
    uv=$(ensure_uv "$python")
    # uv verifies TLS with its own roots unless told to use the system's (where proxies add a CA).
    export UV_NATIVE_TLS=1
    log "syncing .venv from uv.lock with $python"
    (cd "$ROOT" && "$uv" sync --frozen --quiet --python "$python")
}

cmd_engine() { "$ROOT/.venv/bin/stormcheck" engine start; }
cmd_tools() { "$ROOT/.venv/bin/stormcheck" tools install; }
cmd_images() { "$ROOT/.venv/bin/stormcheck" images build; }

[ $# -ge 1 ] || { echo "usage: $0 python|engine|tools|images ..." >&2; exit 2; }
for step in "$@"; do
    case "$step" in
        python|engine|tools|images) "cmd_$step" ;;
        *) echo "unknown step: $step" >&2; exit 2 ;;
    esac
done
