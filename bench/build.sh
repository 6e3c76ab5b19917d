#!/usr/bin/env bash
# bench/build.sh: an ~8-step Dockerfile over a context of 2000 small files and a 50 MB file,
# built with `DOCKER_BUILDKIT=0 docker build --network none` against pierd and, when one
# answers, a reference dockerd (classic builder), and with `pier build` (bin/pier: against
# pierd it sends a manifest and only the contents pierd lacks; against dockerd a tar), in one run:
#   cold   (empty cache: --no-cache, base image already present)
#   warm   (no change: every step from the cache)
#   change (one small file changed: the steps after its COPY re-run)
# Prints one line per engine and case (median of N runs, seconds) and a JSON summary.
#   N=3 bench/build.sh
# env: PIER_BENCH_HOST=unix://… use a running pierd; DOCKERD_HOST=unix://… the dockerd to
#      compare with (default /run/ref-docker/docker.sock when it answers); N (default 3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
N=${N:-3}
IMAGE=${IMAGE:-bench-bb:latest}
tmp=$(mktemp -d /tmp/pbb.XXXX)
pierd_pid=""
cleanup() {
  if [ -n "$pierd_pid" ]; then kill "$pierd_pid" 2>/dev/null || true; wait "$pierd_pid" 2>/dev/null || true; fi
  if [ -n "${DOCKERD_HOST:-}" ]; then
    DOCKER_HOST=$DOCKERD_HOST docker rmi -f bench-build:1 >/dev/null 2>&1 || true
    DOCKER_HOST=$DOCKERD_HOST docker image prune -f >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$repo/scripts/busybox-rootfs.sh" "$tmp/rootfs.tar" >/dev/null
if [ -z "${PIER_BENCH_HOST:-}" ]; then
  PIER_BENCH_HOST="unix://$tmp/run/pier.sock"
  node "$repo/bin/pierd" --root "$tmp/root" --exec-root "$tmp/run" -H "$PIER_BENCH_HOST" 2>"$tmp/pierd.log" &
  pierd_pid=$!
  for _ in $(seq 1 100); do DOCKER_HOST=$PIER_BENCH_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
fi
if [ -z "${DOCKERD_HOST:-}" ] && [ -S /run/ref-docker/docker.sock ] && docker -H unix:///run/ref-docker/docker.sock version >/dev/null 2>&1; then
  DOCKERD_HOST=unix:///run/ref-docker/docker.sock
fi

# the context: 2000 small files in 20 dirs, one 50 MB file, the Dockerfile
ctx=$tmp/ctx
mkdir -p "$ctx/src"
for d in $(seq 1 20); do
  mkdir -p "$ctx/src/d$d"
  for f in $(seq 1 100); do echo "file $d/$f" > "$ctx/src/d$d/f$f.txt"; done
done
head -c $((50 * 1024 * 1024)) /dev/urandom > "$ctx/big.bin"
echo v1 > "$ctx/app.conf"
cat > "$ctx/Dockerfile" <<DF
FROM $IMAGE
ENV APP=/app
WORKDIR /app
COPY big.bin /data/big.bin
COPY src/ /app/src/
RUN find /app/src -type f | wc -l > /app/count
COPY app.conf /app/app.conf
RUN cat /app/app.conf > /app/conf.copy
CMD ["sh"]
DF

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# the pier CLI's stat cache goes to the bench's own directory
export XDG_CACHE_HOME=$tmp/cache
CLI=docker
one() {  # host, extra args → seconds
  local t0 t1
  t0=$(now)
  if [ "$CLI" = pier ]; then
    node "$repo/bin/pier" -H "$1" build --network none -q -t bench-build:1 "${@:2}" "$ctx" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  else
    DOCKER_BUILDKIT=0 docker -H "$1" build --network none -q -t bench-build:1 "${@:2}" "$ctx" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  fi
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
bench_engine() {  # name host
  local host=$2 cold=() warm=() change=()
  docker -H "$host" image inspect "$IMAGE" >/dev/null 2>&1 || docker -H "$host" import "$tmp/rootfs.tar" "$IMAGE" >/dev/null
  for i in $(seq 1 "$N"); do
    echo v1 > "$ctx/app.conf"
    cold+=("$(one "$host" --no-cache)")
    warm+=("$(one "$host")")
    echo "v$((i + 1))-changed" > "$ctx/app.conf"
    change+=("$(one "$host")")
  done
  local c w x
  c=$(printf '%s\n' "${cold[@]}" | median); w=$(printf '%s\n' "${warm[@]}" | median); x=$(printf '%s\n' "${change[@]}" | median)
  printf '%-14s cold %6.2fs  warm %6.2fs  one-file-changed %6.2fs\n' "$1" "$c" "$w" "$x" >&2
  echo "\"$1\":{\"cold\":$c,\"warm\":$w,\"change\":$x}"
}

results=$(bench_engine pier "$PIER_BENCH_HOST")
results="$results,$(CLI=pier bench_engine pier-cli "$PIER_BENCH_HOST")"
if [ -n "${DOCKERD_HOST:-}" ]; then
  results="$results,$(bench_engine dockerd "$DOCKERD_HOST")"
  results="$results,$(CLI=pier bench_engine dockerd-pier-cli "$DOCKERD_HOST")"
fi
echo "{\"n\":$N,$results}"
