#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, skipping what is there: Debian
# packages for Node.js, LibreOffice and Chromium, then the npm packages of the web client (a Node
# test imports its calc model) and of the Node and browser tests (one package: tests/package.json).
# Called by `./test`, `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive

apt_packages=()
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)
# Export checks open our ODT and DOCX files in a real reader.
command -v soffice >/dev/null 2>&1 || apt_packages+=(libreoffice-writer-nogui)
# Calc export checks open our ODS and XLSX files and convert them to CSV.
dpkg -s libreoffice-calc-nogui >/dev/null 2>&1 || apt_packages+=(libreoffice-calc-nogui)
# Browser tests drive Debian's Chromium with playwright-core.
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
# The PostgreSQL engine's tests start throwaway clusters of their own with Debian's initdb.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_packages+=(postgresql)
# The cluster test (tests/it/cluster.rs) puts HAProxy in front of three nodes.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_packages+=(haproxy)
if ((${#apt_packages[@]})); then
    echo "== installing ${apt_packages[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi

# npm ci only when node_modules is missing or older than the lock file.
for dir in web tests; do
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
        [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "== npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund)
    fi
done
