#!/usr/bin/env bash
# bench/density.sh: N idle containers (`sleep 3600`) started one after another through the
# real docker CLI and kept running, N = 50, 200, 1000: start rate, engine memory per container
# (PSS) and the daemon's own RSS/PSS, for a temporary pierd and the reference dockerd in one
# run, then the ratios. The measuring is the shared yardstick's (../shared/bench/density.sh);
# this script only sets up the engines and compares.
#   COUNTS="50 200 1000" bench/density.sh
# Both engines run with `--network none` (NET=none): the reference dockerd here has
# networking disabled, so the comparison is container start + memory without any network
# setup on either side.
# Memory: the yardstick's PSS per container = (PSS after starting N - PSS before) / N, summed
# over the engine's processes. For pierd that is pierd itself plus every conmon of this daemon
# (their command lines name <exec-root>/c/<id>/conmon.pid); for dockerd, dockerd, containerd
# and all containerd-shims of that daemon.
# env: COUNTS (default "50 200 1000"); DOCKERD_HOST (default unix:///run/ref-docker/docker.sock,
#      skipped when it does not answer); DKBENCH=dir of the yardstick; PDENS=temporary dir of
#      pierd (default /tmp/pdens, must not exist); DOCKERD_TIMEOUT (s, default 3600); SETTLE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DKBENCH=${DKBENCH:-$repo/../shared/bench}
[ -x "$DKBENCH/density.sh" ] || { echo "yardstick not found at $DKBENCH (set DKBENCH)" >&2; exit 2; }
export COUNTS=${COUNTS:-"50 200 1000"} IMAGE=${IMAGE:-bb:latest} NET=none PAR=1
DOCKERD_HOST=${DOCKERD_HOST:-unix:///run/ref-docker/docker.sock}
PDENS=${PDENS:-/tmp/pdens}
root=$PDENS/root execroot=$PDENS/run
PIER_HOST=unix://$execroot/pier.sock
out=$(mktemp -d /tmp/pdensout.XXXX)

pierd_pid=""
cleanup() {
  local rc=$?
  if [ -n "$pierd_pid" ]; then
    # the yardstick removes its own containers; anything left (an interrupted run) goes too
    DOCKER_HOST=$PIER_HOST docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST=$PIER_HOST docker rm -f >/dev/null 2>&1 || true
    DOCKER_HOST=$PIER_HOST docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
    kill "$pierd_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pierd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pierd_pid" 2>/dev/null && { echo "pierd $pierd_pid did not stop on SIGTERM; SIGKILL" >&2; kill -9 "$pierd_pid" 2>/dev/null || true; }
    wait "$pierd_pid" 2>/dev/null || true
    if grep -q " $PDENS/" /proc/self/mountinfo; then echo "WARNING: mounts left under $PDENS" >&2; else rm -rf "$PDENS"; fi
  fi
  [ -n "${KEEP_OUT:-}" ] || rm -rf "$out"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -e "$PDENS" ]; then echo "$PDENS exists (a previous run?); remove it or set PDENS" >&2; exit 2; fi
mkdir -p "$execroot"
"$repo/scripts/busybox-rootfs.sh" "$PDENS/rootfs.tar"

# all containers run --network none, so pierd needs no default bridge (--bridge none) and
# cannot collide with other daemons' bridges on this machine
node "$repo/bin/pierd" --root "$root" --exec-root "$execroot" -H "$PIER_HOST" --bridge none 2>"$PDENS/pierd.log" >&2 &
pierd_pid=$!
for _ in $(seq 1 200); do DOCKER_HOST=$PIER_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
DOCKER_HOST=$PIER_HOST docker version >/dev/null || { echo "pierd did not come up; log:" >&2; tail -20 "$PDENS/pierd.log" >&2; exit 1; }
echo "pierd pid $pierd_pid (fd limit $(awk '/open files/ {print $4}' /proc/$pierd_pid/limits))" >&2

ensure_bb() {  # bb:latest from the same rootfs tarball into an engine
  DOCKER_HOST=$1 docker image inspect "$IMAGE" >/dev/null 2>&1 || DOCKER_HOST=$1 docker import "$PDENS/rootfs.tar" "$IMAGE" >/dev/null
}

ensure_bb "$PIER_HOST"
echo "== pierd ($PIER_HOST), COUNTS=$COUNTS, --network none" >&2
DOCKER_HOST=$PIER_HOST DAEMON_PID=$pierd_pid ENGINE_EXTRA_MATCH="^(/[^ ]*/)?conmon .*-P $execroot/c/[^ ]*/conmon\\.pid" \
  "$DKBENCH/density.sh" > "$out/pier.out"
pier_json=$(tail -n1 "$out/pier.out")
echo "$pier_json"

dockerd_json=""
if DOCKER_HOST=$DOCKERD_HOST docker version >/dev/null 2>&1; then
  ensure_bb "$DOCKERD_HOST"
  echo "== dockerd ($DOCKERD_HOST), COUNTS=$COUNTS, --network none" >&2
  # a wedged dockerd (seen: 20.10's `rm -f` of 1000 containers hanging for good) must not hang
  # this script: give up after DOCKERD_TIMEOUT seconds and report pierd alone
  if timeout -k 30 "${DOCKERD_TIMEOUT:-3600}" env DOCKER_HOST=$DOCKERD_HOST "$DKBENCH/density.sh" > "$out/dockerd.out"; then
    dockerd_json=$(tail -n1 "$out/dockerd.out")
  else
    echo "dockerd run failed or timed out; its containers carry label dkbench (see $DOCKERD_HOST)" >&2
  fi
  echo "$dockerd_json"
else
  echo "no dockerd answers at $DOCKERD_HOST: pierd numbers only" >&2
fi

# pierd's own process is `node` in the yardstick's per-comm table
summary() {  # $1 json, $2 N, $3 daemon comm -> "rate running pss_per_ctr_kb daemon_rss_kb daemon_pss_kb"
  jq -r --arg k "n$2" --arg d "$3" '.[$k] | "\(.containers_per_s) \(.running) \(.engine_pss_per_container_kb) \(.rss_after[$d].rss_kb // "null") \(.rss_after[$d].pss_kb // "null") \(.mem_per_container_kb) \(.rm_per_s)"' <<<"$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0 || a == "null" || b == "null") print "n/a"; else printf "%.2f", a/b }'; }
echo
echo "density, sequential docker CLI, --network none on both engines"
printf '%6s | %-44s | %-44s | %s\n' N "pierd: ctr/s  running  PSS/ctr  pierd RSS/PSS" "dockerd: ctr/s  running  PSS/ctr  dockerd RSS/PSS" "rate ×, PSS/ctr ×"
for n in $COUNTS; do
  read -r pr prun ppss prss ppss_d pmem prm <<<"$(summary "$pier_json" "$n" node)"
  line=$(printf '%6s | %7s %8s %7s KiB %7s/%s KiB' "$n" "$pr" "$prun" "$ppss" "$prss" "$ppss_d")
  if [ -n "$dockerd_json" ]; then
    read -r dr drun dpss drss dpss_d dmem drm <<<"$(summary "$dockerd_json" "$n" dockerd)"
    line+=$(printf ' | %7s %8s %7s KiB %7s/%s KiB | %s, %s' "$dr" "$drun" "$dpss" "$drss" "$dpss_d" "$(ratio "$pr" "$dr")" "$(ratio "$ppss" "$dpss")")
  fi
  echo "$line"
done
