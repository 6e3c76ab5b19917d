#!/bin/sh
# The main job, from a fresh clone on Debian 12 as root:
#   installs what is missing, builds, starts pierd if it is not running, makes the
#   busybox:latest image from the host's static busybox, and runs a container.
# Environment: PIER_ROOT (/var/lib/pier), PIER_EXEC_ROOT (/run/pier), PIER_LOG (/var/log/pier/pierd.log)
set -eu
cd "$(dirname "$0")/.."
root=${PIER_ROOT:-/var/lib/pier}
execroot=${PIER_EXEC_ROOT:-/run/pier}
sock="$execroot/pier.sock"
log=${PIER_LOG:-/var/log/pier/pierd.log}
export PIER_HOST="unix://$sock"

scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build

if bin/pier version >/dev/null 2>&1; then
  echo "quickstart: pierd is already running on $sock"
else
  mkdir -p "$(dirname "$log")"
  echo "quickstart: starting pierd (root $root, socket $sock, log $log)"
  nohup bin/pierd --root "$root" --exec-root "$execroot" -H "unix://$sock" >>"$log" 2>&1 &
  i=0
  until bin/pier version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then echo "quickstart: pierd did not start; see $log" >&2; tail -n 20 "$log" >&2; exit 1; fi
    sleep 0.1
  done
fi

if ! bin/pier image inspect busybox:latest >/dev/null 2>&1; then
  tar=$(mktemp /tmp/busybox-rootfs.XXXXXX.tar)
  scripts/busybox-rootfs.sh "$tar"
  bin/pier import "$tar" busybox:latest
  rm -f "$tar"
fi

bin/pier run --rm busybox echo hello
