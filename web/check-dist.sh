#!/bin/sh
# Rebuild web/dist from the pinned sources and fail if it differs from the committed copy.
# Run from anywhere; needs node + npm and the npm registry (npm ci).
set -eu
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi
npm run --silent build
cd ..
if ! git diff --exit-code --stat -- web/dist; then
    echo "web/dist is not what web/src builds: run 'cd web && npm ci && npm run build' and commit web/dist" >&2
    exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- web/dist)
if [ -n "$untracked" ]; then
    echo "web/dist has files that are not committed:" >&2
    echo "$untracked" >&2
    exit 1
fi
echo "web/dist is up to date"
