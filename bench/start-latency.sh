#!/usr/bin/env bash
# bench/start-latency.sh: `docker run --rm bb true` through the real docker CLI against
# pierd, and against a real dockerd when one answers, in one run; prints both JSON
# results (from the shared yardstick, ../shared/bench/start-latency.sh) and the ratio.
#   N=30 bench/start-latency.sh
# env: PIER_BENCH_HOST=unix://… use a running pierd instead of starting a temporary one;
#      DOCKERD_HOST=unix://… the dockerd to compare with (default: the first of
#      /var/run/docker.sock and /run/ref-docker/docker.sock that answers); DKBENCH=dir of
#      the yardstick; N, WARMUP as the yardstick takes them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DKBENCH=${DKBENCH:-$repo/../shared/bench}
[ -x "$DKBENCH/start-latency.sh" ] || { echo "yardstick not found at $DKBENCH (set DKBENCH)" >&2; exit 2; }
export N=${N:-30} WARMUP=${WARMUP:-3} IMAGE=${IMAGE:-bb:latest}

tmp=$(mktemp -d /tmp/pb.XXXX)
pierd_pid=""
cleanup() {
  if [ -n "$pierd_pid" ]; then
    DOCKER_HOST=$PIER_BENCH_HOST docker ps -aq --filter label=dkbench 2>/dev/null | xargs -r env DOCKER_HOST=$PIER_BENCH_HOST docker rm -f >/dev/null 2>&1 || true
    kill "$pierd_pid" 2>/dev/null || true
    wait "$pierd_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$repo/scripts/busybox-rootfs.sh" "$tmp/rootfs.tar"
if [ -z "${PIER_BENCH_HOST:-}" ]; then
  PIER_BENCH_HOST="unix://$tmp/run/pier.sock"
  node "$repo/bin/pierd" --root "$tmp/root" --exec-root "$tmp/run" -H "$PIER_BENCH_HOST" 2>"$tmp/pierd.log" &
  pierd_pid=$!
  for _ in $(seq 1 100); do DOCKER_HOST=$PIER_BENCH_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
fi

ensure_bb() {  # import bb:latest from the same rootfs tarball into an engine
  DOCKER_HOST=$1 docker image inspect "$IMAGE" >/dev/null 2>&1 || DOCKER_HOST=$1 docker import "$tmp/rootfs.tar" "$IMAGE" >/dev/null
}
p50() { jq -r ".$2.p50 // empty" <<<"$1"; }

ensure_bb "$PIER_BENCH_HOST"
echo "== pierd ($PIER_BENCH_HOST)" >&2
pier_json=$(DOCKER_HOST=$PIER_BENCH_HOST "$DKBENCH/start-latency.sh" | tail -n1)
echo "$pier_json"

if [ -z "${DOCKERD_HOST:-}" ]; then
  for s in /var/run/docker.sock /run/ref-docker/docker.sock; do
    [ -S "$s" ] && DOCKER_HOST=unix://$s docker version >/dev/null 2>&1 && { DOCKERD_HOST=unix://$s; break; }
  done
fi
if [ -n "${DOCKERD_HOST:-}" ]; then
  ensure_bb "$DOCKERD_HOST"
  echo "== dockerd ($DOCKERD_HOST)" >&2
  dockerd_json=$(DOCKER_HOST=$DOCKERD_HOST "$DKBENCH/start-latency.sh" | tail -n1)
  echo "$dockerd_json"
  pn=$(p50 "$pier_json" run_none_ms); dn=$(p50 "$dockerd_json" run_none_ms)
  pd=$(p50 "$pier_json" run_default_ms); dd=$(p50 "$dockerd_json" run_default_ms)
  echo "run --rm --network none p50: pierd ${pn} ms, dockerd ${dn} ms, ratio $(awk -v a="$pn" -v b="$dn" 'BEGIN{printf "%.2f", a/b}')"
  [ -n "$dd" ] && echo "run --rm (default network) p50: pierd ${pd} ms, dockerd ${dd} ms, ratio $(awk -v a="$pd" -v b="$dd" 'BEGIN{printf "%.2f", a/b}')"
else
  echo "no dockerd answered: pierd numbers only (run --rm --network none p50 $(p50 "$pier_json" run_none_ms) ms)"
fi
