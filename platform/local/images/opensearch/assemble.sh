#!/bin/sh
# Assembles an OpenSearch home from the jars Maven staged (the engine's maven_pom: jars/):
# lib/ gets the server and its runtime dependencies, modules/<name>/ gets each module's jars
# (as listed in modules.txt) with a plugin-descriptor.properties and, where the recipe has one,
# its plugin-security.policy. Fails on a listed jar that is missing, so a dependency change in
# a new OpenSearch release is caught at build time, not when the node starts.
# usage: assemble.sh JARS_DIR RECIPE_DIR HOME
set -eu
jars=$1 recipe=$2 home=$3

server=$(ls "$jars" | sed -n 's/^opensearch-\([0-9][0-9.]*\)\.jar$/\1/p')
[ -n "$server" ] || { echo "assemble: no opensearch-<version>.jar in $jars" >&2; exit 1; }
echo "assemble: OpenSearch $server"
mkdir -p "$home/lib" "$home/modules" "$home/plugins"

grep -v '^[[:space:]]*#' "$recipe/modules.txt" | grep -v '^[[:space:]]*$' |
while read -r module classname extends names; do
    dir="$home/modules/$module"
    mkdir -p "$dir"
    for name in $names; do
        # a jar is <name>-<version>.jar, the version starting with a digit
        found=$(ls "$jars" | grep -E "^${name}-[0-9][^-]*(-[0-9]+)?(\.Final)?\.jar$" || true)
        [ "$(echo "$found" | grep -c .)" -eq 1 ] || {
            echo "assemble: module $module: expected one jar named $name-<version>.jar, found: ${found:-none}" >&2
            exit 1
        }
        mv "$jars/$found" "$dir/"
    done
    {
        echo "description=OpenSearch module $module (assembled from Maven Central artefacts)"
        echo "version=$server"
        echo "name=$module"
        echo "classname=$classname"
        echo "java.version=11"
        echo "opensearch.version=$server"
        [ "$extends" = "-" ] || echo "extended.plugins=$extends"
        echo "has.native.controller=false"
    } > "$dir/plugin-descriptor.properties"
    if [ -f "$recipe/modules/$module/plugin-security.policy" ]; then
        cp "$recipe/modules/$module/plugin-security.policy" "$dir/"
    fi
    echo "assemble: module $module: $(ls "$dir" | tr '\n' ' ')"
done

mv "$jars"/*.jar "$home/lib/"
echo "assemble: lib: $(ls "$home/lib" | wc -l) jars"
