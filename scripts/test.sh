#!/bin/sh
# Installs, builds and runs every test (unit, layering, integration against a real pierd
# driven by the real docker CLI). Needs root on Debian 12. `.ci/run` calls exactly this.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
npm ci --no-audit --no-fund
npm run build
npm run lint
npm test
