#!/bin/sh
# Build a busybox rootfs from Debian's busybox-static into DIR (default bundles/busybox/rootfs).
# Every applet is a symlink to /bin/busybox, plus minimal /etc/passwd and /etc/group.
set -eu
dest=${1:-$(dirname "$0")/busybox/rootfs}
bb=/bin/busybox
[ -x "$bb" ] || { echo "build-rootfs: $bb missing; install busybox-static" >&2; exit 1; }
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/etc" "$tmp/root" \
    "$tmp/tmp" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/run" "$tmp/var" "$tmp/home"
chmod 1777 "$tmp/tmp"
cp "$bb" "$tmp/bin/busybox"
# --list-full gives each applet's canonical location (bin/ls, usr/bin/env, sbin/ip ...).
for applet in $("$bb" --list-full); do
    [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$tmp/$applet"
done
cat > "$tmp/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$tmp/etc/group" <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
G
echo "127.0.0.1 localhost" > "$tmp/etc/hosts"
: > "$tmp/etc/resolv.conf"
rm -rf "$dest"
mv "$tmp" "$dest"
