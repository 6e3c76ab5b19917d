#!/bin/bash
# Pull throughput: a ~250 MB, 8-layer image of incompressible data, served by a local Debian
# docker-registry (and then by `pier registry`), pulled into pierd and into the reference
# dockerd (when its socket answers). ROUNDS (default 5) runs of each, pierd and dockerd
# alternating so both see the same machine load; prints median and range in MB/s, and the
# pier/dockerd ratio of the medians.
#   bench/pull.sh            (as root, after npm run build; needs docker-registry, skopeo, docker)
# Ports 5190-5191 on 127.0.0.1. LAYER_MB (default 31) sets the size of each layer.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
LAYER_MB=${LAYER_MB:-31}
ROUNDS=${ROUNDS:-5}
REF_SOCK=${REF_SOCK:-/run/ref-docker/docker.sock}
T=$(mktemp -d /tmp/pbench-XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
now() { date +%s.%N; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
waitport() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }

echo "building an 8-layer image of $((8 * LAYER_MB)) MB of random data..."
mkdir -p "$T/oci/blobs/sha256"
diffids=(); layers=(); total=0
for i in 1 2 3 4 5 6 7 8; do
  mkdir -p "$T/l$i"
  head -c "${LAYER_MB}M" /dev/urandom > "$T/l$i/data$i"
  tar -C "$T/l$i" -cf "$T/layer$i.tar" .
  diffids+=("sha256:$(sha256sum "$T/layer$i.tar" | cut -d' ' -f1)")
  gzip -1 -c "$T/layer$i.tar" > "$T/layer$i.tgz"
  d=$(sha256sum "$T/layer$i.tgz" | cut -d' ' -f1); s=$(stat -c %s "$T/layer$i.tgz")
  mv "$T/layer$i.tgz" "$T/oci/blobs/sha256/$d"; rm -rf "$T/l$i" "$T/layer$i.tar"
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$s}")
  total=$((total + s))
done
ids=$(IFS=,; echo "${diffids[*]/#/\"}" | sed 's/,/",/g')\"
arch=$(case "$(uname -m)" in x86_64) echo amd64;; aarch64) echo arm64;; *) uname -m;; esac)
printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/data1"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$arch" "$ids" > "$T/config.json"
cd_=$(sha256sum "$T/config.json" | cut -d' ' -f1); cs=$(stat -c %s "$T/config.json"); cp "$T/config.json" "$T/oci/blobs/sha256/$cd_"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' "$cd_" "$cs" "$(IFS=,; echo "${layers[*]}")" > "$T/manifest.json"
md=$(sha256sum "$T/manifest.json" | cut -d' ' -f1); ms=$(stat -c %s "$T/manifest.json"); cp "$T/manifest.json" "$T/oci/blobs/sha256/$md"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' "$md" "$ms" > "$T/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$T/oci/oci-layout"
echo "image: $total bytes compressed in 8 layers"

# docker-registry (Debian) on 5190
mkdir -p "$T/dreg"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/dreg/data\nhttp:\n  addr: 127.0.0.1:5190\n' "$T" > "$T/dreg/config.yml"
/usr/bin/docker-registry serve "$T/dreg/config.yml" > "$T/dreg.log" 2>&1 & pids+=($!)
# pier registry on 5191
node "$REPO/dist/src/registry/main.js" serve --addr 127.0.0.1:5191 --root "$T/preg" > "$T/preg.log" 2>&1 & pids+=($!)
waitport 5190; waitport 5191
skopeo copy -q --dest-tls-verify=false "oci:$T/oci:1" docker://127.0.0.1:5190/bench:1
skopeo copy -q --dest-tls-verify=false "oci:$T/oci:1" docker://127.0.0.1:5191/bench:1

# registry serving speed alone: all 8 blobs fetched in parallel with curl
fetch_all() { # port: all 8 blobs at once; waits for the curls only (not the servers)
  local cp=() d
  for l in "${layers[@]}"; do d=$(echo "$l" | sed 's/.*"digest":"\([^"]*\)".*/\1/'); curl -s -o /dev/null "http://127.0.0.1:$1/v2/bench/blobs/$d" & cp+=($!); done
  wait "${cp[@]}"
}
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo "$t1 - $t0" | bc; }
# summary NAME SECONDS...: min/median/max throughput of the runs
summary() {
  local name=$1; shift
  printf '%s\n' "$@" | sort -g | awk -v b="$total" -v n="$name" '{ t[NR] = $1 } END {
    m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "%-40s median %6.1f MB/s  (range %.1f-%.1f MB/s over %d runs)\n", n, b / 1e6 / m, b / 1e6 / t[NR], b / 1e6 / t[1], NR }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }

dserve=(); pserve=()
for _ in $(seq "$ROUNDS"); do dserve+=("$(timed fetch_all 5190)"); pserve+=("$(timed fetch_all 5191)"); done

# pierd on a temporary root
node "$REPO/dist/src/daemon/main.js" --root "$T/root" --exec-root "$T/run" --bridge none > "$T/pierd.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -S "$T/run/pier.sock" ] && break; sleep 0.1; done
PIER="docker -H unix://$T/run/pier.sock"
export DOCKER_CONFIG="$T/cli"
REF=""
if [ -S "$REF_SOCK" ] && docker -H "unix://$REF_SOCK" version >/dev/null 2>&1; then
  REF="docker -H unix://$REF_SOCK"
  $REF rmi -f 127.0.0.1:5190/bench:1 127.0.0.1:5191/bench:1 >/dev/null 2>&1 || true
fi
pull_once() { # engine-cli port: one timed pull, then the image is removed again
  local t; t=$(timed $1 pull -q "127.0.0.1:$2/bench:1"); $1 rmi -f "127.0.0.1:$2/bench:1" >/dev/null; echo "$t"
}
# rounds alternate the engines, so both see the same machine load
p_dreg=(); p_preg=(); r_dreg=(); r_preg=()
for _ in $(seq "$ROUNDS"); do
  p_dreg+=("$(pull_once "$PIER" 5190)")
  [ -n "$REF" ] && r_dreg+=("$(pull_once "$REF" 5190)")
  p_preg+=("$(pull_once "$PIER" 5191)")
  [ -n "$REF" ] && r_preg+=("$(pull_once "$REF" 5191)")
done

echo
summary "serve 8 blobs in parallel (curl): docker-registry" "${dserve[@]}"
summary "serve 8 blobs in parallel (curl): pier registry" "${pserve[@]}"
summary "pull into pierd   from docker-registry" "${p_dreg[@]}"
summary "pull into pierd   from pier registry" "${p_preg[@]}"
if [ -n "$REF" ]; then
  summary "pull into dockerd from docker-registry" "${r_dreg[@]}"
  summary "pull into dockerd from pier registry" "${r_preg[@]}"
  echo "ratio pierd/dockerd, medians (docker-registry): $(awk -v a="$(median "${r_dreg[@]}")" -v b="$(median "${p_dreg[@]}")" 'BEGIN { printf "%.2f", a / b }')x"
  echo "ratio pierd/dockerd, medians (pier registry):   $(awk -v a="$(median "${r_preg[@]}")" -v b="$(median "${p_preg[@]}")" 'BEGIN { printf "%.2f", a / b }')x"
else
  echo "no reference dockerd at $REF_SOCK: dockerd not measured"
fi
