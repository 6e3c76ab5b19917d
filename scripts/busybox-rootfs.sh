#!/bin/sh
# Builds a busybox rootfs tarball from the host's static busybox (Debian busybox-static).
#   scripts/busybox-rootfs.sh OUT.tar [BUSYBOX]
# The result is deterministic (sorted entries, fixed mtimes, uid/gid 0, no pax atime headers),
# so `pier import OUT.tar busybox:latest` always yields the same image ID on one host.
set -eu

out=${1:?usage: busybox-rootfs.sh OUT.tar [BUSYBOX]}
bb=${2:-/bin/busybox}

[ -x "$bb" ] || { echo "busybox-rootfs.sh: $bb not found (apt-get install busybox-static)" >&2; exit 1; }
if ! "$bb" --list-full >/dev/null 2>&1; then
  echo "busybox-rootfs.sh: $bb does not support --list-full" >&2; exit 1
fi
# A dynamically linked busybox would not run inside the image.
if command -v file >/dev/null 2>&1 && file -L "$bb" | grep -q 'dynamically linked'; then
  echo "busybox-rootfs.sh: $bb is dynamically linked; install busybox-static" >&2; exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbroot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
r="$tmp/rootfs"
mkdir -p "$r"
umask 022

for d in bin sbin usr/bin usr/sbin etc dev proc sys home var var/spool var/spool/mail var/www root tmp; do
  mkdir -p "$r/$d"
done
chmod 0755 "$r"
chmod 1777 "$r/tmp"
chmod 0700 "$r/root"

cp "$bb" "$r/bin/busybox"
chmod 0755 "$r/bin/busybox"

"$bb" --list-full | LC_ALL=C sort -u | while IFS= read -r applet; do
  case "$applet" in
    ''|bin/busybox) continue ;;
  esac
  mkdir -p "$r/$(dirname "$applet")"
  ln -sf /bin/busybox "$r/$applet"
done

cat > "$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat > "$r/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:26:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
staff:x:50:
users:x:100:
nogroup:x:65534:
EOF
cat > "$r/etc/shadow" <<'EOF'
root:*::0:::::
daemon:*::0:::::
bin:*::0:::::
sys:*::0:::::
sync:*::0:::::
mail:*::0:::::
www-data:*::0:::::
operator:*::0:::::
nobody:*::0:::::
EOF
chmod 0644 "$r/etc/passwd" "$r/etc/group"
chmod 0640 "$r/etc/shadow"

mkdir -p "$(dirname "$out")"
# GNU tar: sorted names, one fixed mtime, numeric root ownership, no atime/ctime pax records.
tar --create --file="$out.tmp" --directory="$r" \
  --sort=name --format=gnu --mtime='2000-01-01 00:00:00Z' \
  --owner=0 --group=0 --numeric-owner \
  .
mv "$out.tmp" "$out"
