#!/usr/bin/env bash
# setup.sh: the single entry point for newcomers and CI.
#
#   sudo ./setup.sh            set up only (apt packages, Open vSwitch, .venv)
#   sudo ./setup.sh demo       set up, then `make demo`
#   sudo ./setup.sh test       set up (plus the VM tier's packages), then `make test`
#   sudo ./setup.sh ARGS...    set up, then `make ARGS...` (e.g. test-native)
#
# Idempotent and fast when everything is already there: every step checks
# before it acts, `apt-get update` runs only when a package is missing, and
# the pip step is skipped while .setup-stamp matches a hash of pyproject.toml.
# Works on Debian 12 and Ubuntu 22.04/24.04, with or without systemd.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$REPO/.venv"
STAMP="$REPO/.setup-stamp"
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
export DEBIAN_FRONTEND=noninteractive

say() { printf 'setup.sh: %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (it installs packages, starts Open vSwitch and the tests build namespaces): sudo $0 $*"
fi

# ---------------------------------------------------------------- apt packages
# One entry per need; "a|b" means the first of a, b that apt knows (Debian vs
# Ubuntu names).  An entry ending in "?" is optional: skipped if apt lacks it.
PKGS=(make openvswitch-switch mininet iproute2 tcpdump iputils-ping
      "arping|iputils-arping" graphviz nftables iperf3 ethtool procps psmisc
      frr)   # frr: the provider routers' own control plane (--realize control=bgp)
case " $* " in
    *" test "*|*" test-vm "*)
        # VM tier (scripts/vm-tier): a full distribution kernel booted with
        # virtme-ng under QEMU; vng needs a static busybox for its initramfs.
        PKGS+=("linux-image-amd64|linux-image-generic" qemu-system-x86 busybox-static) ;;
esac
case " $* " in
    *" test "*|*" test-unit "*)
        # tests/unit/test_vagrantfile.py runs `vagrant validate` (skips without it).
        PKGS+=("vagrant?") ;;
esac
case " $* " in
    *" test "*|*" test-native "*)
        # the live view's browser test (tests/integration/test_web.py) drives headless Chromium;
        # Ubuntu's apt name is a snap wrapper, so it is optional there (the test skips without it).
        PKGS+=("chromium|chromium-browser?") ;;
esac

# venv support is needed only if there is no working .venv and the python3 on
# PATH cannot make one (Debian/Ubuntu system python without python3-venv).
venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c '' 2>/dev/null; }
if ! venv_ok; then
    if ! command -v python3 >/dev/null 2>&1; then
        PKGS+=(python3 python3-venv python3-pip)
    elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        PKGS+=(python3-venv python3-pip)
    fi
fi

# What is installed: one dpkg-query for every name mentioned.
declare -A STATUS=()
all_names=()
for spec in "${PKGS[@]}"; do IFS='|' read -r -a alts <<<"${spec%\?}"; all_names+=("${alts[@]}"); done
while read -r name status; do
    [ -n "$name" ] && STATUS["${name%%:*}"]="$status"
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${all_names[@]}" 2>/dev/null || true)

missing=()
for spec in "${PKGS[@]}"; do
    IFS='|' read -r -a alts <<<"${spec%\?}"
    have=
    for a in "${alts[@]}"; do [ "${STATUS[$a]:-}" = installed ] && { have=1; break; }; done
    [ -n "$have" ] || missing+=("$spec")
done

if [ "${#missing[@]}" -gt 0 ]; then
    say "missing packages: ${missing[*]}; running apt-get update"
    apt-get update -q || say "warning: apt-get update failed; trying with the package lists there are"
    has_candidate() {
        local c
        c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
        [ -n "$c" ] && [ "$c" != "(none)" ]
    }
    to_install=()
    for spec in "${missing[@]}"; do
        optional=; [ "${spec%\?}" != "$spec" ] && optional=1
        IFS='|' read -r -a alts <<<"${spec%\?}"
        pick=
        for a in "${alts[@]}"; do has_candidate "$a" && { pick="$a"; break; }; done
        if [ -n "$pick" ]; then
            to_install+=("$pick")
        elif [ -n "$optional" ]; then
            say "note: ${spec%\?} is not available from apt here; skipping it (optional)"
        else
            die "no apt package for '${spec}' (is the package list complete? on Ubuntu enable 'universe')"
        fi
    done
    if [ "${#to_install[@]}" -gt 0 ]; then
        say "apt-get install ${to_install[*]}"
        apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${to_install[@]}" </dev/null
    fi
fi

# ---------------------------------------------------------------- Open vSwitch
if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        say "starting Open vSwitch (systemctl start openvswitch-switch)"
        systemctl start openvswitch-switch
    else
        # No systemd (containers, CI).  Without the openvswitch kernel module
        # ovs-ctl warns ("... no module support ...") and starts anyway; the
        # product then uses the userspace datapath.  So its exit status and
        # warnings are not trusted: the ovs-vsctl check below decides.  Its
        # output goes to a log so that a detached daemon never holds our
        # stdout open; timeout guards against a hang.
        say "starting Open vSwitch ($OVS_CTL start --system-id=random)"
        log=/var/log/openvswitch/setup-ovs-ctl.log
        mkdir -p /var/log/openvswitch
        timeout 120 "$OVS_CTL" start --system-id=random </dev/null >"$log" 2>&1 \
            || say "note: ovs-ctl exited with $? (usually just the missing kernel module; see $log)"
    fi
    for _ in $(seq 1 20); do
        ovs-vsctl --timeout=2 show >/dev/null 2>&1 && break
        sleep 0.5
    done
    ovs-vsctl --timeout=2 show >/dev/null 2>&1 \
        || die "Open vSwitch did not come up (ovs-vsctl show fails); see /var/log/openvswitch/"
    say "Open vSwitch is running"
fi

# ---------------------------------------------------------------- Python venv
if ! venv_ok; then
    py="$(command -v python3)" || die "no python3 on PATH"
    say "creating $VENV with $py ($("$py" --version 2>&1))"
    rm -rf "$VENV" "$STAMP"
    "$py" -m venv "$VENV" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi
want="$(sha256sum <"$REPO/pyproject.toml" | cut -d' ' -f1) $(readlink -f "$VENV/bin/python")"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    say "pip install -e '.[test]' into $VENV"
    "$VENV/bin/python" -m pip install -q -e "$REPO[test]" </dev/null
    printf '%s\n' "$want" >"$STAMP"
fi

# ---------------------------------------------------------------- hand over
if [ "$#" -eq 0 ]; then
    say "set up done. Next: sudo make demo | sudo make test (see docs or README)"
    exit 0
fi
export VENV
exec make -C "$REPO" VENV="$VENV" "$@"
