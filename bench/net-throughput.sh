#!/usr/bin/env bash
# bench/net-throughput.sh: container-to-container throughput over a user bridge network
# (busybox httpd → wget through `docker exec`, MiB/s over the whole exec, so a little low), on
# pierd, and on a dockerd only when DOCKERD_HOST names one (it creates a network there).
#   SIZE_MB=1000 RUNS=3 bench/net-throughput.sh
# env: PIER_BENCH_HOST=unix://… a running pierd (else a temporary one on its own bridge and
#      /24 of 10.213.0.0/16); DOCKERD_HOST=unix://… the dockerd to compare with.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/.." && pwd)
SIZE_MB=${SIZE_MB:-1000}; RUNS=${RUNS:-3}; IMAGE=${IMAGE:-bb:latest}
tmp=$(mktemp -d /tmp/pnt.XXXX); pierd_pid=""
cleanup() {
  for hst in ${PIER_BENCH_HOST:-} ${DOCKERD_HOST:-}; do
    DOCKER_HOST=$hst docker rm -f pnt-srv pnt-cli >/dev/null 2>&1 || true
    DOCKER_HOST=$hst docker network rm pnt-net >/dev/null 2>&1 || true
  done
  if [ -n "$pierd_pid" ]; then kill "$pierd_pid" 2>/dev/null || true; wait "$pierd_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
"$repo/scripts/busybox-rootfs.sh" "$tmp/rootfs.tar"
if [ -z "${PIER_BENCH_HOST:-}" ]; then
  PIER_BENCH_HOST="unix://$tmp/run/pier.sock"
  k=$((RANDOM % 200 + 20))
  node "$repo/bin/pierd" --root "$tmp/root" --exec-root "$tmp/run" -H "$PIER_BENCH_HOST" --bridge "pnt$k" --bip "10.213.$k.1/24" 2>"$tmp/pierd.log" &
  pierd_pid=$!
  for _ in $(seq 1 100); do DOCKER_HOST=$PIER_BENCH_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
fi
now() { date +%s%N; }
measure() {  # $1 = engine; prints "<MiB/s>" per run
  export DOCKER_HOST=$1
  docker image inspect "$IMAGE" >/dev/null 2>&1 || docker import "$tmp/rootfs.tar" "$IMAGE" >/dev/null
  docker network create pnt-net >/dev/null || return 1
  docker run -d --name pnt-srv --network pnt-net "$IMAGE" sh -c "mkdir /w && dd if=/dev/zero of=/w/f bs=1M count=$SIZE_MB 2>/dev/null && touch /w/e && httpd -f -p 80 -h /w" >/dev/null
  docker run -d --name pnt-cli --network pnt-net "$IMAGE" sleep 1000 >/dev/null
  for _ in $(seq 1 50); do docker exec pnt-cli wget -qO /dev/null http://pnt-srv/e 2>/dev/null && break; sleep 0.1; done
  for _ in $(seq 1 "$RUNS"); do
    b=$(now); docker exec pnt-cli wget -qO /dev/null http://pnt-srv/f; c=$(now)
    awk -v s="$SIZE_MB" -v t=$((c - b)) 'BEGIN { printf "%.0f\n", s / (t / 1e9) }'
  done
  docker rm -f pnt-srv pnt-cli >/dev/null; docker network rm pnt-net >/dev/null
}
echo "pierd ($PIER_BENCH_HOST): $(measure "$PIER_BENCH_HOST" | sort -n | tr '\n' ' ') MiB/s (${SIZE_MB} MiB, busybox httpd → wget)"
if [ -n "${DOCKERD_HOST:-}" ]; then
  if out=$(measure "$DOCKERD_HOST" 2>&1); then echo "dockerd ($DOCKERD_HOST): $(echo "$out" | sort -n | tr '\n' ' ') MiB/s"
  else echo "dockerd ($DOCKERD_HOST): no bridge networking there (${out//$'\n'/ })"; fi
fi
