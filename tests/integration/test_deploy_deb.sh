#!/usr/bin/env bash
# Description: deploy/baremetal/build-deb makes the Debian packages with dpkg-buildpackage from a
# clean copy of the sources (a full release build, about half a minute here; with
# TRADSYS_DEB_FROM_BUILD=1 it packages BUILD_ROOT's binaries instead), and they install:
# dpkg -i (apt-get -f install if dependencies are missing) creates the tradsys user, the journal
# directory, the TLS pair and the conffiles with their permissions; the installed units pass
# `systemd-analyze verify` against the real root (binaries at the paths they name); the
# installed dataplane checks the installed example configuration as the tradsys user; the units
# are started and stopped when systemd is PID 1 (without it this part is skipped and said so:
# test_deploy_systemd.sh boots a systemd in a container for it); dpkg --purge removes the files
# again. The test refuses to run (skip)
# where a tradsys package is installed already, and removes the user and the state directory
# only if it created them.
# Usage: test_deploy_deb.sh SOURCE_ROOT BUILD_ROOT   (0 pass, 1 fail, 77 skip)
set -euo pipefail
root=$1 build=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (dpkg -i)"; exit 77; }
for t in dpkg-buildpackage dh; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed (scripts/bootstrap)"; exit 77; }
done
for p in tradsys tradsys-tools; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
		echo "SKIP: package $p is installed on this machine already; not touching it"
		exit 77
	fi
done
if [ -e /usr/bin/tradsys-dataplane ] || [ -e /etc/tradsys ]; then
	echo "SKIP: /usr/bin/tradsys-dataplane or /etc/tradsys exists outside any package"
	exit 77
fi
work=$(mktemp -d /tmp/tradsys-deploy-deb-XXXXXX)
had_user=no
getent passwd tradsys >/dev/null && had_user=yes
had_state=no
[ -e /var/lib/tradsys ] && had_state=yes
installed=no
cleanup() {
	if [ "$installed" = yes ]; then
		dpkg --purge tradsys-tools tradsys >/dev/null 2>&1 || true
	fi
	[ "$had_state" = no ] && rm -rf /var/lib/tradsys
	if [ "$had_user" = no ] && getent passwd tradsys >/dev/null; then
		userdel tradsys 2>/dev/null || true
		if getent group tradsys >/dev/null; then groupdel tradsys 2>/dev/null || true; fi
	fi
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}

start=$(date +%s)
from=()
[ "${TRADSYS_DEB_FROM_BUILD:-0}" = 1 ] && from=(--from-build "$build")
"$root/deploy/baremetal/build-deb" "${from[@]}" "$work/out" >"$work/build.out" 2>&1 ||
	fail "build-deb: $(tail -n 30 "$work/build.out")"
deb=$work/out/tradsys_0.1.0_amd64.deb
tools=$work/out/tradsys-tools_0.1.0_amd64.deb
if [ ! -f "$deb" ] || [ ! -f "$tools" ]; then fail "packages missing: $(ls "$work/out")"; fi
echo "built in $(($(date +%s) - start)) s: $(basename -a "$work"/out/*.deb | tr '\n' ' ')"
dpkg -c "$deb" >"$work/contents"
grep -q ' ./lib/systemd/system/tradsys-dataplane.service$' "$work/contents" || fail "unit not in the package"
grep -q ' ./usr/bin/tradsys-dataplane$' "$work/contents" || fail "dataplane not in the package"

installed=yes
if ! dpkg -i "$deb" "$tools" >"$work/install.out" 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq >>"$work/install.out" 2>&1 ||
		fail "dpkg -i / apt-get -f install: $(tail -n 20 "$work/install.out")"
fi
dpkg-query -W -f='${Status}' tradsys | grep -q 'install ok installed' || fail "tradsys not installed"
getent passwd tradsys >/dev/null || fail "no tradsys user"
for f in /usr/bin/tradsys-dataplane /usr/bin/tradsys-controlplane /usr/bin/tradsys-exsim \
	/usr/lib/tradsys/tune-host /etc/default/tradsys /usr/share/tradsys/grafana/tradsys.json \
	/usr/share/tradsys/prometheus/rules.yml /usr/share/tradsys/postgresql/tradsys.conf \
	/etc/tradsys/tls/cert.pem /etc/tradsys/tls/key.pem; do
	[ -e "$f" ] || fail "missing $f"
done
[ "$(stat -c '%U:%G %a' /etc/tradsys/dataplane.conf)" = "root:tradsys 640" ] ||
	fail "dataplane.conf is $(stat -c '%U:%G %a' /etc/tradsys/dataplane.conf)"
[ "$(stat -c '%U:%G %a' /etc/tradsys/tls/key.pem)" = "root:tradsys 640" ] || fail "key.pem permissions"
[ "$(stat -c '%U:%G %a' /var/lib/tradsys/journal)" = "tradsys:tradsys 750" ] || fail "journal dir permissions"
grep -qx /etc/tradsys/dataplane.conf /var/lib/dpkg/info/tradsys.conffiles || fail "dataplane.conf is not a conffile"
echo "installed: user tradsys, /etc/tradsys (conffiles 0640 root:tradsys), /var/lib/tradsys/journal, TLS pair"

for u in tradsys-dataplane tradsys-controlplane tradsys-persister; do
	[ -f "/lib/systemd/system/$u.service" ] || fail "no /lib/systemd/system/$u.service"
	systemd-analyze verify "/lib/systemd/system/$u.service" >"$work/verify.out" 2>&1 ||
		fail "verify $u: $(cat "$work/verify.out")"
	[ -s "$work/verify.out" ] && fail "verify $u warns: $(cat "$work/verify.out")"
done
echo "systemd-analyze verify: the installed units pass against the real root"

runuser -u tradsys -- /usr/bin/tradsys-dataplane --check /etc/tradsys/dataplane.conf >"$work/check.out" 2>&1 ||
	fail "installed --check as tradsys: $(cat "$work/check.out")"
echo "as user tradsys: $(cat "$work/check.out")"

if [ "$(ps -p 1 -o comm=)" = systemd ] && systemctl is-system-running >/dev/null 2>&1; then
	systemctl start tradsys-controlplane || true
	sleep 1
	systemctl stop tradsys-controlplane
	systemctl is-active tradsys-controlplane >/dev/null && fail "controlplane still active after stop"
	echo "systemd: start/stop exercised"
else
	echo "note: PID 1 is '$(ps -p 1 -o comm=)', not systemd: start/stop of the units not tested here (test_deploy_systemd.sh does, in a container)"
fi

dpkg --purge tradsys-tools tradsys >"$work/purge.out" 2>&1 || fail "purge: $(cat "$work/purge.out")"
installed=no
for f in /usr/bin/tradsys-dataplane /usr/bin/tradsys-exsim /lib/systemd/system/tradsys-dataplane.service \
	/etc/tradsys/dataplane.conf /etc/tradsys/tls /etc/default/tradsys; do
	[ -e "$f" ] && fail "$f left after purge"
done
echo "purged: binaries, units and configuration gone"
echo "PASS ($(($(date +%s) - start)) s)"
