#!/usr/bin/env bash
# Description: deploy/baremetal's files are accepted by the tools that read them.
#   - the systemd units: `systemd-analyze verify --root` on a temporary root holding the units,
#     the real built binaries at the paths ExecStart names (/usr/bin) and systemd's own units;
#     any output (an unknown key, a missing binary) fails the test, not only the exit status;
#     each is Type=notify with NotifyAccess=main, WatchdogSec= and TimeoutStartSec=, and both
#     programs import sd_notify;
#   - Prometheus: `promtool check config` (which also checks the rules file it names) and
#     `promtool check rules`;
#   - the Grafana dashboard parses as JSON with panels and a datasource variable;
#   - the example dataplane.conf passes `tradsys-dataplane --check` (venues, risk, accounts and
#     strategies included), and a misspelt key in it is refused naming the line and the key;
#   - the example controlplane.conf is accepted by `tradsys-controlplane serve`'s parser: run on a
#     copy pointing at a database that does not exist, serve must get as far as connecting;
#   - the shipped exsim configuration passes `tradsys-exsim --check`;
#   - tune-host, build-deb and the package's maintainer scripts are shellcheck-clean, and
#     tune-host's dry run changes nothing on a fake /sys and /proc while --apply changes them.
# Usage: test_deploy_static.sh SOURCE_ROOT TRADSYS_DATAPLANE TRADSYS_CONTROLPLANE TRADSYS_EXSIM
#        (0 pass, 1 fail, 77 skip)
set -euo pipefail
root=$1 dp=$2 cp=$3 exsim=$4
deploy=$root/deploy/baremetal
for t in systemd-analyze promtool shellcheck; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed (scripts/bootstrap)"; exit 77; }
done
work=$(mktemp -d /tmp/tradsys-deploy-static-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}

# systemd units
vr=$work/root
mkdir -p "$vr/usr/bin" "$vr/usr/lib/systemd" "$vr/etc/systemd/system"
cp -a /usr/lib/systemd/system "$vr/usr/lib/systemd/"
cp "$dp" "$cp" "$(command -v taskset)" "$vr/usr/bin/"
cp "$deploy"/systemd/*.service "$vr/etc/systemd/system/"
n=0
for u in "$deploy"/systemd/*.service; do
	name=$(basename "$u")
	systemd-analyze verify --root="$vr" "$name" >"$work/verify.out" 2>&1 ||
		fail "systemd-analyze verify $name: $(cat "$work/verify.out")"
	[ -s "$work/verify.out" ] && fail "systemd-analyze verify $name warns: $(cat "$work/verify.out")"
	n=$((n + 1))
done
[ "$n" = 3 ] || fail "expected 3 units, found $n"
echo "systemd-analyze verify: $n units clean"
# Type=notify units whose programs never sent READY=1 would time out at every start: each unit
# waits for its main process only, with a watchdog, and both programs import sd_notify.
for u in "$deploy"/systemd/*.service; do
	for k in Type=notify NotifyAccess=main 'WatchdogSec=[1-9]' 'TimeoutStartSec=[1-9]'; do
		grep -Eq "^$k" "$u" || fail "$(basename "$u"): no $k"
	done
done
for b in "$dp" "$cp"; do
	nm -D --undefined-only "$b" | grep -qw sd_notify || fail "$(basename "$b") does not call sd_notify"
done
echo "units: Type=notify, NotifyAccess=main, WatchdogSec= and TimeoutStartSec= set; both programs call sd_notify"

# Prometheus and Grafana
promtool check config "$deploy/prometheus/prometheus.yml" >"$work/p.out" 2>&1 ||
	fail "promtool check config: $(cat "$work/p.out")"
promtool check rules "$deploy/prometheus/rules.yml" >"$work/p.out" 2>&1 ||
	fail "promtool check rules: $(cat "$work/p.out")"
grep -q 'SUCCESS: 2[0-9] rules found' "$work/p.out" || fail "rules: $(cat "$work/p.out")"
for a in TradsysSessionDown TradsysKillSwitchEngaged TradsysDailyLossLimit; do
	grep -q "alert: $a\$" "$deploy/prometheus/rules.yml" || fail "rules.yml has no alert $a"
done
python3 - "$deploy/grafana/tradsys.json" <<'PY' || fail "dashboard JSON"
import json, sys
d = json.load(open(sys.argv[1]))
panels = [p for p in d["panels"] if p["type"] != "row"]
assert len(panels) >= 20, len(panels)
assert any(v["type"] == "datasource" for v in d["templating"]["list"])
kinds = {p["type"] for p in panels}
assert {"timeseries", "heatmap", "stat"} <= kinds, kinds
exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
for m in ("tradsys_session_up", "tradsys_kill_switch_engaged", "tradsys_pnl_realized",
          "tradsys_position", "sum by (control) (rate(tradsys_risk_rejects_total"):
    assert m in exprs, m
print(f"dashboard: {len(panels)} panels ({', '.join(sorted(kinds))})")
PY
echo "promtool: config and rules pass"

# Example configurations
"$dp" --check "$deploy/etc/tradsys/dataplane.conf" >"$work/c.out" 2>&1 || fail "dataplane --check: $(cat "$work/c.out")"
grep -q 'ok (instance colo1, 2 feed(s), 1 worker(s))' "$work/c.out" || fail "dataplane --check said: $(cat "$work/c.out")"
sed 's/^max_order_qty = /max_order_qt = /' "$deploy/etc/tradsys/dataplane.conf" >"$work/bad.conf"
if "$dp" --check "$work/bad.conf" >/dev/null 2>"$work/bad.err"; then fail "--check accepted a misspelt key"; fi
grep -q 'bad.conf:[0-9]*: \[risk\] max_order_qt: unknown key' "$work/bad.err" || fail "misspelt key: $(cat "$work/bad.err")"
echo "dataplane.conf: --check ok, a misspelt key refused"

sed -e "s|^database = .*|database = postgresql:///nonexistent?host=$work\&port=1|" \
	-e "s|^jwt_secret_file = .*|jwt_secret_file = $work/jwt.secret|" \
	"$deploy/etc/tradsys/controlplane.conf" >"$work/cp.conf"
if "$cp" serve --config "$work/cp.conf" >"$work/cp.out" 2>&1; then fail "serve ran without a database"; fi
grep -q 'cannot connect to the database' "$work/cp.out" || fail "controlplane.conf: $(cat "$work/cp.out")"
echo "controlplane.conf: parsed (serve reached the database connect)"

"$exsim" --config "$deploy/examples/exsim-rehearsal.conf" --check >"$work/x.out" 2>&1 ||
	fail "exsim --check: $(cat "$work/x.out")"
echo "exsim-rehearsal.conf: $(cat "$work/x.out")"

# Scripts
shellcheck -x -P SCRIPTDIR "$deploy/tune-host" "$deploy/build-deb" "$root"/tests/integration/test_deploy_*.sh ||
	fail "shellcheck"
shellcheck -s sh "$deploy/debian/tradsys.postinst" "$deploy/debian/tradsys.postrm" || fail "shellcheck (maintainer scripts)"
echo "shellcheck: clean"

# tune-host on a fake sysfs/procfs: a dry run writes nothing, --apply writes what it printed.
fs=$work/fs
mkdir -p "$fs/sys/devices/system/cpu/cpu1/cpufreq" "$fs/sys/kernel/mm/hugepages/hugepages-2048kB" \
	"$fs/proc/irq/40" "$fs/proc/irq/41"
echo powersave >"$fs/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor"
echo 0 >"$fs/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
echo 0-1 >"$fs/proc/irq/40/smp_affinity_list"
echo 1 >"$fs/proc/irq/41/smp_affinity_list"
echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1" >"$fs/proc/cmdline"
echo "nodev /dev/hugepages hugetlbfs rw 0 0" >"$fs/proc/mounts"
find "$fs" -type f -exec md5sum {} + | sort >"$work/before"
TUNE_HOST_SYSFS=$fs/sys TUNE_HOST_PROCFS=$fs/proc "$deploy/tune-host" --workers 1 --housekeeping 0 \
	--hugepages 64 >"$work/dry.out" 2>&1 || fail "tune-host dry run: $(cat "$work/dry.out")"
find "$fs" -type f -exec md5sum {} + | sort | diff -q - "$work/before" >/dev/null || fail "the dry run changed files"
grep -q 'isolcpus=managed_irq,domain,1 nohz_full=1 rcu_nocbs=1 irqaffinity=0' "$work/dry.out" ||
	fail "no GRUB line: $(cat "$work/dry.out")"
grep -q "would set $fs/proc/irq/41/smp_affinity_list = 0" "$work/dry.out" || fail "dry run IRQ line"
if [ "$(id -u)" = 0 ]; then
	TUNE_HOST_SYSFS=$fs/sys TUNE_HOST_PROCFS=$fs/proc "$deploy/tune-host" --workers 1 --housekeeping 0 \
		--hugepages 64 --apply >"$work/apply.out" 2>&1 || fail "tune-host --apply: $(cat "$work/apply.out")"
	[ "$(cat "$fs/proc/irq/41/smp_affinity_list")" = 0 ] || fail "--apply: irq 41"
	[ "$(cat "$fs/proc/irq/40/smp_affinity_list")" = 0 ] || fail "--apply: irq 40"
	[ "$(cat "$fs/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor")" = performance ] || fail "--apply: governor"
	[ "$(cat "$fs/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")" = 64 ] || fail "--apply: hugepages"
	echo "tune-host: dry run changes nothing, --apply sets IRQs, governor and hugepages"
fi
if "$deploy/tune-host" --workers 0-4096 >/dev/null 2>&1; then fail "tune-host accepted cpus beyond the box"; fi
echo PASS
