#!/bin/sh
# Installs what pier needs on Debian 12 (as root), only what is missing:
#   scripts/install-deps.sh [--test]
# --test adds what the test suite uses: a docker CLI (from Debian's docker.io, without
# starting its daemon), skopeo/umoci fixtures, docker-compose 1.29 and `script` for TTY tests.
set -eu
[ "$(id -u)" = 0 ] || { echo "install-deps.sh: run as root" >&2; exit 1; }

want="runc conmon crun runsc busybox-static catatonit tini iproute2 iptables nftables util-linux procps ca-certificates"
[ "${1:-}" = "--test" ] && want="$want skopeo umoci jq docker-registry docker-compose"

missing=""
for p in $want; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
need_docker_cli=""
if [ "${1:-}" = "--test" ] && ! command -v docker >/dev/null 2>&1; then
  need_docker_cli=docker.io
fi

if [ -n "$missing$need_docker_cli" ]; then
  echo "install-deps.sh: installing$missing $need_docker_cli"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [ -n "$need_docker_cli" ] || echo "$missing" | grep -q docker-registry; then
    # Only the docker CLI is wanted: keep the package's daemon from starting (it rewrites
    # iptables). policy-rc.d is the Debian way to veto service starts during install.
    # docker-registry likewise: the tests run their own on 127.0.0.1, never the :5000 service.
    had_policy=""
    [ -e /usr/sbin/policy-rc.d ] && had_policy=1
    [ -n "$had_policy" ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
    apt-get install -y -qq --no-install-recommends $missing $need_docker_cli >/dev/null
    [ -n "$had_policy" ] || rm -f /usr/sbin/policy-rc.d
  else
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

if ! command -v node >/dev/null 2>&1; then
  echo "install-deps.sh: Node.js 20 or newer is required" >&2; exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install-deps.sh: Node.js $major is too old; 20 or newer is required" >&2; exit 1; }
