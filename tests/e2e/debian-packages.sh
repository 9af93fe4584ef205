# Sourced by the install-*.sh scripts: need_debian_packages CALLER PKG... installs the
# Debian packages that are missing, never starting a packaged service (the suites start the
# daemons they need themselves; a policy-rc.d also stops an init script).
need_debian_packages() {
    caller=$1
    shift
    need=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need="$need $pkg"
    done
    [ -n "$need" ] || return 0
    echo "$caller: installing Debian packages:$need" >&2
    export DEBIAN_FRONTEND=noninteractive
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
    fi
    apt-get update -qq >&2 || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >&2 || { [ -z "$policy" ] || rm -f "$policy"; return 1; }
    [ -z "$policy" ] || rm -f "$policy"
}
