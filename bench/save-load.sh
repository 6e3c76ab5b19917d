#!/usr/bin/env bash
# bench/save-load.sh: `docker load`, `docker save` and `docker commit` of a ~250 MB, 8-layer
# image of incompressible data, through the real docker CLI against a temporary pierd and
# against a real dockerd when one answers, in one run; prints MB/s per engine and the ratios.
#   SIZE_MB=256 LAYERS=8 RUNS=3 bench/save-load.sh
# env: PIER_BENCH_HOST=unix://… use a running pierd; DOCKERD_HOST=unix://… the dockerd to
#      compare with (default: the first of /var/run/docker.sock, /run/ref-docker/docker.sock
#      that answers). Best of RUNS is reported. Everything created is removed again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
SIZE_MB=${SIZE_MB:-256} LAYERS=${LAYERS:-8} RUNS=${RUNS:-3}
IMG=pier-bench-saveload:1
tmp=$(mktemp -d /var/tmp/pbsl.XXXX)
pierd_pid=""
cleanup() {
  for host in ${PIER_BENCH_HOST:-} ${DOCKERD_HOST:-}; do
    DOCKER_HOST=$host docker rm -f pier-bench-commit >/dev/null 2>&1 || true
    DOCKER_HOST=$host docker rmi -f $IMG pier-bench-committed:1 >/dev/null 2>&1 || true
  done
  if [ -n "$pierd_pid" ]; then kill "$pierd_pid" 2>/dev/null || true; wait "$pierd_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# the image: busybox base + LAYERS-1 layers of random bytes, as a docker-archive
"$repo/scripts/busybox-rootfs.sh" "$tmp/rootfs.tar"
python3 - "$tmp" "$SIZE_MB" "$LAYERS" <<'PY'
import hashlib, io, json, os, sys, tarfile
tmp, size_mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = size_mb * 1024 * 1024 // (n - 1)
layers = [os.path.join(tmp, 'rootfs.tar')]
for i in range(1, n):
    p = os.path.join(tmp, f'l{i}.tar')
    with tarfile.open(p, 'w') as t:
        ti = tarfile.TarInfo(f'data/blob{i}'); ti.size = per; ti.mtime = 0
        t.addfile(ti, io.BytesIO(os.urandom(per)))
    layers.append(p)
def digest(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for c in iter(lambda: f.read(1 << 20), b''): h.update(c)
    return 'sha256:' + h.hexdigest()
diffs = [digest(p) for p in layers]
cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'created': '2024-01-01T00:00:00Z', 'config': {'Cmd': ['sh']},
                  'rootfs': {'type': 'layers', 'diff_ids': diffs}, 'history': [{'created_by': f'layer {i}'} for i in range(n)]}).encode()
cid = hashlib.sha256(cfg).hexdigest()
with tarfile.open(os.path.join(tmp, 'image.tar'), 'w') as t:
    for d, p in zip(diffs, layers): t.add(p, f'{d[7:]}/layer.tar')
    for name, data in ((f'{cid}.json', cfg), ('manifest.json', json.dumps([{'Config': f'{cid}.json', 'RepoTags': ['pier-bench-saveload:1'], 'Layers': [f'{d[7:]}/layer.tar' for d in diffs]}]).encode())):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PY
bytes=$(stat -c %s "$tmp/image.tar")
mb=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}')
echo "image: $mb MB in $LAYERS layers" >&2

if [ -z "${PIER_BENCH_HOST:-}" ]; then
  PIER_BENCH_HOST="unix://$tmp/run/pier.sock"
  node "$repo/bin/pierd" --root "$tmp/root" --exec-root "$tmp/run" -H "$PIER_BENCH_HOST" 2>"$tmp/pierd.log" &
  pierd_pid=$!
  for _ in $(seq 1 100); do DOCKER_HOST=$PIER_BENCH_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
fi
if [ -z "${DOCKERD_HOST:-}" ]; then
  for s in /var/run/docker.sock /run/ref-docker/docker.sock; do
    [ -S "$s" ] && DOCKER_HOST=unix://$s docker version >/dev/null 2>&1 && { DOCKERD_HOST=unix://$s; break; }
  done
fi

now() { date +%s.%N; }
# best-of-RUNS seconds for: load (fresh each time), save to a file, commit of a container that wrote 32 MB
measure() {
  local host=$1 best_load=999999 best_save=999999 best_commit=999999 t0 t1 d
  for _ in $(seq 1 "$RUNS"); do
    DOCKER_HOST=$host docker rmi -f $IMG >/dev/null 2>&1 || true
    t0=$(now); DOCKER_HOST=$host docker load -q -i "$tmp/image.tar" >/dev/null; t1=$(now)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); best_load=$(awk -v a="$best_load" -v b="$d" 'BEGIN{print (b<a)?b:a}')
    t0=$(now); DOCKER_HOST=$host docker save -o "$tmp/out.tar" $IMG; t1=$(now)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); best_save=$(awk -v a="$best_save" -v b="$d" 'BEGIN{print (b<a)?b:a}')
    rm -f "$tmp/out.tar"
    DOCKER_HOST=$host docker rm -f pier-bench-commit >/dev/null 2>&1 || true
    if DOCKER_HOST=$host docker run --network none --name pier-bench-commit $IMG sh -c 'head -c 33554432 /data/blob1 > /written' >/dev/null 2>&1; then
      t0=$(now)
      if DOCKER_HOST=$host docker commit pier-bench-commit pier-bench-committed:1 >/dev/null 2>&1; then
        t1=$(now); d=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); best_commit=$(awk -v a="$best_commit" -v b="$d" 'BEGIN{print (b<a)?b:a}')
      fi
      DOCKER_HOST=$host docker rmi -f pier-bench-committed:1 >/dev/null 2>&1 || true
    fi
    DOCKER_HOST=$host docker rm -f pier-bench-commit >/dev/null 2>&1 || true
  done
  DOCKER_HOST=$host docker rmi -f $IMG >/dev/null 2>&1 || true
  echo "$best_load $best_save $best_commit"
}
report() {  # name load_s save_s commit_s
  local commit="n/a"
  [ "$4" != 999999 ] && commit=$(awk -v s="$4" 'BEGIN{printf "%.2f s", s}')
  awk -v n="$1" -v mb="$mb" -v l="$2" -v s="$3" -v c="$commit" 'BEGIN{printf "%-8s load %7.1f MB/s (%.2f s)   save %7.1f MB/s (%.2f s)   commit(32 MB) %s\n", n, mb/l, l, mb/s, s, c}'
}

read -r pl ps pc < <(measure "$PIER_BENCH_HOST")
report pierd "$pl" "$ps" "$pc"
if [ -n "${DOCKERD_HOST:-}" ]; then
  read -r dl ds dc < <(measure "$DOCKERD_HOST")
  report dockerd "$dl" "$ds" "$dc"
  awk -v pl="$pl" -v dl="$dl" -v ps="$ps" -v ds="$ds" 'BEGIN{printf "ratio pierd/dockerd throughput: load %.2fx, save %.2fx\n", dl/pl, ds/ps}'
  if [ "$pc" != 999999 ] && [ "$dc" != 999999 ]; then awk -v p="$pc" -v d="$dc" 'BEGIN{printf "commit time ratio pierd/dockerd: %.2f\n", p/d}'; fi
fi
