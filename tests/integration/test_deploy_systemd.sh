#!/usr/bin/env bash
# Description: the tradsys units started, watched and stopped by a real systemd. This
# machine's PID 1 is not systemd, so the test boots one in a container: systemd-nspawn --boot on
# an overlay of the host's own root (read-only lower layer, the writes go to a tmpfs and vanish),
# with a private network (only its own loopback) and the capabilities the unit asks for. Inside:
# the .deb packages built by deploy/baremetal/build-deb are installed with dpkg -i, the dataplane
# gets a small configuration (count handler, io_uring driver on loopback), and
#   - the unit turns active only once READY=1 came: systemd entered "active" at least the TSC
#     calibration (100 ms) after the exec, and of the samples taken meanwhile (unit state, then
#     the stats region), every one that sees it "active" sees the stats region running;
#   - its status line is the dataplane's, and the watchdog pings arrive (WatchdogTimestamp moves);
#   - a worker thread stopped alone (ptrace, sd_notify_tool.py freeze) makes systemd's watchdog
#     kill the process ("Watchdog timeout", SIGABRT) and restart it, active again;
#   - `systemctl stop` stops it cleanly (result success, inactive);
#   - tradsys-persister and tradsys-controlplane, against a PostgreSQL cluster made in the
#     container, start (returning at READY=1: /metrics answers at once), show their status
#     lines and stop cleanly; dpkg --purge removes everything.
# Nothing on the host changes: the container's writes live in a tmpfs removed at the end. With
# TRADSYS_DEB_FROM_BUILD=1 the packages hold BUILD_ROOT's binaries (quick) instead of a clean
# release build (about half a minute).
# Usage: test_deploy_systemd.sh SOURCE_ROOT BUILD_ROOT   (0 pass, 1 fail, 77 skip)
set -euo pipefail
root=$1 build=$2
tool=$(cd "$(dirname "$0")" && pwd)/sd_notify_tool.py
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount, systemd-nspawn)"; exit 77; }
for t in systemd-nspawn dpkg-buildpackage dh nsenter; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed (scripts/bootstrap)"; exit 77; }
done
for p in tradsys tradsys-tools; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
		echo "SKIP: package $p is installed on this machine; the container would see it"
		exit 77
	fi
done
[ -d /run/systemd/system ] && { echo "SKIP: systemd is PID 1 here: test_deploy_deb.sh starts the units"; exit 77; }

work=$(mktemp -d /tmp/tradsys-deploy-systemd-XXXXXX)
ct=$work/root
machine="tsdeb$$"
ns='' leader='' frz=''
# nspawn leaves its state under /run/systemd/nspawn (a tmpfs where systemd is PID 1, not here).
had_run=no
[ -e /run/systemd/nspawn ] && had_run=yes
cleanup() {
	if [ -n "$frz" ] && kill -0 "$frz" 2>/dev/null; then kill -TERM "$frz" 2>/dev/null || true; fi
	if [ -n "$ns" ] && kill -0 "$ns" 2>/dev/null; then
		[ -n "$leader" ] && nsenter --target "$leader" --all -- systemctl poweroff >/dev/null 2>&1
		for _ in $(seq 100); do kill -0 "$ns" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ns" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	mountpoint -q "$ct" && umount "$ct"
	mountpoint -q "$work/rw" && umount "$work/rw"
	rm -rf "$work" "/run/systemd/nspawn/propagate/$machine"
	[ "$had_run" = no ] && rm -rf /run/systemd/nspawn
	return 0
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	if [ -n "$leader" ] && kill -0 "$leader" 2>/dev/null; then
		in_ct journalctl -u tradsys-dataplane --no-pager -n 25 2>&1 | sed 's/^/  journal: /'
	fi
	exit 1
}
in_ct() { nsenter --target "$leader" --all -- "$@"; }
prop() { in_ct systemctl show -P "$1" tradsys-dataplane; }

start=$(date +%s)
from=()
[ "${TRADSYS_DEB_FROM_BUILD:-0}" = 1 ] && from=(--from-build "$build")
"$root/deploy/baremetal/build-deb" "${from[@]}" "$work/deb" >"$work/build.out" 2>&1 ||
	fail "build-deb: $(tail -n 30 "$work/build.out")"
echo "packages built in $(($(date +%s) - start)) s"

# The container's root: the host's root file system, read-only, under a tmpfs for the writes.
mkdir -p "$work/rw" "$ct"
mount -t tmpfs -o size=2g,mode=0755 tradsys-ct "$work/rw"
mkdir "$work/rw/upper" "$work/rw/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/rw/upper,workdir=$work/rw/work" "$ct" ||
	{ echo "SKIP: cannot mount an overlay of / (overlayfs)"; exit 77; }
# Its own machine id (nspawn refuses to share the host's journal otherwise), the packages and
# the freeze tool where it can reach them.
systemd-id128 new >"$ct/etc/machine-id"
mkdir -p "$ct/root/tradsys-test"
cp "$work"/deb/tradsys_*.deb "$work"/deb/tradsys-tools_*.deb "$tool" "$ct/root/tradsys-test/"

# basic.target only: none of the host's own services (PostgreSQL, Prometheus) start inside.
# --register=no --keep-unit: no systemd-machined on a host without systemd. The capabilities
# the unit gives the dataplane must be in the container's bounding set.
booting=$(date +%s%N)
systemd-nspawn --directory="$ct" --machine="$machine" --register=no --keep-unit \
	--link-journal=no --private-network --capability=CAP_IPC_LOCK,CAP_BPF,CAP_PERFMON \
	--boot -- systemd.unit=basic.target >"$work/nspawn.out" 2>&1 &
ns=$!
for _ in $(seq 300); do
	leader=$(pgrep -P "$ns" -x systemd || true)
	if [ -n "$leader" ]; then
		state=$(in_ct systemctl is-system-running 2>/dev/null || true)
		case "$state" in running | degraded) break ;; esac
	fi
	kill -0 "$ns" 2>/dev/null || fail "systemd-nspawn exited: $(tail -n 20 "$work/nspawn.out")"
	sleep 0.1
done
case "${state:-}" in running | degraded) ;; *) fail "the container's systemd did not boot: ${state:-no leader}" ;; esac
echo "container booted in $((($(date +%s%N) - booting) / 1000000)) ms: systemd $(in_ct systemctl --version | head -n 1 | cut -d' ' -f2) is its PID 1 ($state)"

in_ct sh -c 'dpkg -i /root/tradsys-test/*.deb' >"$work/install.out" 2>&1 ||
	fail "dpkg -i in the container: $(tail -n 20 "$work/install.out")"
in_ct systemctl cat tradsys-dataplane >/dev/null || fail "the container's systemd does not know the unit"
[ "$(prop Type)" = notify ] || fail "unit Type=$(prop Type)"
echo "installed in the container; unit Type=notify"

# A configuration that runs here: the count handler on the io_uring driver over loopback.
core=$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')
cat >"$ct/etc/tradsys/dataplane.conf" <<CONF
[appliance]
instance = colo1
log_level = warn
[driver]
kind = uring
interface = lo
queues = 1
[feed.a]
port = 31999
[worker.0]
core = $core
idle = backoff
command_poll = 64
handler = count
CONF
sed -i "s/^TRADSYS_DATAPLANE_CPUS=.*/TRADSYS_DATAPLANE_CPUS=0-$core/" "$ct/etc/default/tradsys"

# Start without waiting and sample: unit state, then the stats region's process state.
in_ct systemctl start --no-block tradsys-dataplane
# shellcheck disable=SC2016 # expanded by the shell in the container
in_ct bash -c 'for _ in $(seq 1000); do
	a=$(systemctl is-active tradsys-dataplane)
	s=$(tradsys-dataplane --stats colo1 2>/dev/null | grep -o "\"state\":\"[a-z]*\"" | head -n 1)
	echo "$a ${s:-none}"
	case $a in active | failed | inactive) break ;; esac
done' >"$work/samples" 2>&1
tail -n 1 "$work/samples" | grep -q '^active ' ||
	fail "the unit did not become active: $(tail -n 3 "$work/samples" | tr '\n' ' ')"
# (A loaded machine may take the first sample late: the timestamps below are the firm check.)
grep -q '^activating ' "$work/samples" || echo "note: the first sample came after READY=1"
grep -v '"running"' "$work/samples" | grep -q '^active ' &&
	fail "active while the stats region was not running: $(grep '^active ' "$work/samples" | head -n 3)"
ex=$(prop ExecMainStartTimestampMonotonic)
ac=$(prop ActiveEnterTimestampMonotonic)
[ $((ac - ex)) -ge 100000 ] || fail "active $((ac - ex)) us after the exec: sooner than the TSC calibration"
echo "systemctl start: $(grep -c '^activating ' "$work/samples") samples activating (stats $(grep '^activating ' "$work/samples" | cut -d' ' -f2 | sort -u | tr '\n' ' ')), then active with the stats region running; active $(((ac - ex) / 1000)) ms after exec"
st=$(prop StatusText)
[ "$st" = "1 worker(s) running on driver uring, instance colo1" ] || fail "StatusText '$st'"
w1=$(prop WatchdogTimestampMonotonic)
sleep 6
w2=$(prop WatchdogTimestampMonotonic)
[ "$w2" -gt "$w1" ] || fail "no watchdog ping in 6 s (WatchdogTimestamp $w1 -> $w2)"
echo "systemctl status: '$st'; WatchdogUSec=$(prop WatchdogUSec), pinged (WatchdogTimestamp +$(((w2 - w1) / 1000)) ms in 6 s)"

# A stuck worker: its thread stopped alone; systemd's watchdog must kill and restart the process.
pid=$(prop MainPID)
in_ct python3 /root/tradsys-test/sd_notify_tool.py freeze "$pid" ts-worker-0 >"$work/freeze.out" 2>&1 &
frz=$!
for _ in $(seq 50); do
	grep -q frozen "$work/freeze.out" && break
	kill -0 "$frz" 2>/dev/null || fail "freeze: $(cat "$work/freeze.out")"
	sleep 0.1
done
t0=$(date +%s)
# Noticed after 5 s without a heartbeat, killed 10 s after the last ping, restarted 5 s later.
for _ in $(seq 400); do
	[ "$(prop NRestarts)" -ge 1 ] && [ "$(in_ct systemctl is-active tradsys-dataplane)" = active ] && break
	sleep 0.1
done
[ "$(prop NRestarts)" -ge 1 ] || fail "no restart within 40 s of a stuck worker"
in_ct journalctl -u tradsys-dataplane --no-pager >"$work/journal" 2>&1
grep -q 'Watchdog timeout' "$work/journal" || fail "restarted, but not by the watchdog"
grep -q 'no heartbeat for .* watchdog ping withheld' "$work/journal" || fail "no 'ping withheld' line in the journal"
[ "$(in_ct systemctl is-active tradsys-dataplane)" = active ] || fail "not active again after the restart"
[ "$(prop MainPID)" != "$pid" ] || fail "the same process after the restart"
kill -TERM "$frz" 2>/dev/null || true
wait "$frz" 2>/dev/null || true
frz=''
echo "stuck worker: watchdog timeout, killed and restarted in $(($(date +%s) - t0)) s (NRestarts $(prop NRestarts)), active again"

in_ct systemctl stop tradsys-dataplane
[ "$(in_ct systemctl is-active tradsys-dataplane)" = inactive ] || fail "still $(in_ct systemctl is-active tradsys-dataplane) after stop"
[ "$(prop Result)" = success ] || fail "stop result $(prop Result)"
in_ct journalctl -u tradsys-dataplane --no-pager >"$work/journal" 2>&1
grep -q 'Terminated, stopping' "$work/journal" || fail "no SIGTERM seen by the dataplane"
echo "systemctl stop: inactive, result success"

# The control plane's units against a PostgreSQL cluster made for the test in the container.
pgver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgver" ] || ! command -v pg_createcluster >/dev/null; then
	fail "no PostgreSQL server (scripts/bootstrap)"
fi
in_ct pg_createcluster "$pgver" tstest --start -- --auth-local=peer >"$work/pg.out" 2>&1 ||
	fail "pg_createcluster: $(tail -n 5 "$work/pg.out")"
pgport=$(in_ct pg_lsclusters -h | awk '$2 == "tstest" { print $3 }')
in_ct runuser -u postgres -- psql -qX -p "$pgport" -c 'CREATE ROLE tradsys LOGIN' \
	-c 'CREATE DATABASE tradsys OWNER tradsys' >>"$work/pg.out" 2>&1 || fail "psql: $(tail -n 5 "$work/pg.out")"
db="postgresql:///tradsys?host=/run/postgresql\&port=$pgport"
sed -i "s|^TRADSYS_DATABASE=.*|TRADSYS_DATABASE=$db|" "$ct/etc/default/tradsys"
sed -i -e "s|^database = .*|database = $db|" -e 's|^listen = 10.0.0.21:|listen = 127.0.0.1:|' \
	"$ct/etc/tradsys/controlplane.conf"
for u in tradsys-persister tradsys-controlplane; do
	t0=$(date +%s%N)
	in_ct systemctl start "$u" || fail "systemctl start $u: $(in_ct journalctl -u "$u" --no-pager -n 15)"
	[ "$(in_ct systemctl is-active "$u")" = active ] || fail "$u not active"
	echo "$u: systemctl start returned in $((($(date +%s%N) - t0) / 1000000)) ms, active, WatchdogUSec=$(in_ct systemctl show -P WatchdogUSec "$u"), status '$(in_ct systemctl show -P StatusText "$u")'"
done
in_ct systemctl show -P StatusText tradsys-persister | grep -q '^copying the journals of instance colo1 in /var/lib/tradsys/journal$' ||
	fail "persister status"
# READY=1 came after the listeners: /metrics answers at once.
code=$(in_ct curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/metrics || true)
[ "$code" = 200 ] || fail "/metrics right after start: '$code'"
in_ct systemctl show -P StatusText tradsys-controlplane | grep -q '^HTTPS API on 127.0.0.1:8443, /metrics on 127.0.0.1:9464, instance colo1$' ||
	fail "controlplane status"
for u in tradsys-controlplane tradsys-persister; do
	in_ct systemctl stop "$u"
	[ "$(in_ct systemctl is-active "$u")" = inactive ] || fail "$u still $(in_ct systemctl is-active "$u") after stop"
	[ "$(in_ct systemctl show -P Result "$u")" = success ] || fail "$u stop result $(in_ct systemctl show -P Result "$u")"
done
echo "tradsys-persister, tradsys-controlplane: /metrics answered at once after start; both stopped with result success"

in_ct dpkg --purge tradsys-tools tradsys >"$work/purge.out" 2>&1 || fail "purge: $(cat "$work/purge.out")"
for f in /usr/bin/tradsys-dataplane /lib/systemd/system/tradsys-dataplane.service /etc/tradsys/dataplane.conf; do
	[ -e "$ct$f" ] && fail "$f left in the container after purge"
done
echo "purged in the container"
in_ct systemctl poweroff
for _ in $(seq 200); do kill -0 "$ns" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ns" 2>/dev/null && fail "the container did not power off"
wait "$ns" || fail "systemd-nspawn: $(tail -n 5 "$work/nspawn.out")"
ns=''
echo "PASS ($(($(date +%s) - start)) s)"
