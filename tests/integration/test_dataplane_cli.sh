#!/usr/bin/env bash
# Description: tradsys-dataplane end to end with the io_uring driver on loopback. It starts from a
# config with two flows on free UDP ports and the dump handler, receives datagrams a plain UDP
# socket sends to 127.0.0.1, shows them in `--stats` JSON, exits 0 on SIGTERM, removes its stats
# region, and its dump equals, flow by flow, what was sent. Bad invocations and configs (missing
# file, unknown key, unknown driver, absent interface, absent core, bad usage, unknown instance)
# give their messages and a non-zero status.
# Usage: test_dataplane_cli.sh TRADSYS_DATAPLANE   (exit 0 pass, 1 fail, 77 skip)
set -euo pipefail
dp=$1
work=$(mktemp -d /tmp/tradsys-dp-test-XXXXXX)
inst="it$$"
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "/dev/shm/tradsys-$inst-stats"
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/dp.err" ] && sed 's/^/  dataplane: /' "$work/dp.err"
	exit 1
}

# Two free UDP ports on loopback, chosen by the kernel, so parallel runs do not collide.
read -r port_a port_b < <(python3 -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')

cat >"$work/dp.conf" <<EOF
[appliance]
instance = $inst
log_level = warn
[driver]
kind = uring
interface = lo
queues = 1
[feed.a]
port = $port_a
[feed.b]
port = $port_b
[worker.0]
core = $core
idle = spin
handler = dump
dump_file = $work/dump.txt
EOF

# expect STATUS TEXT CMD...: runs CMD, checks its exit status and that stderr contains TEXT.
expect() {
	local want=$1 text=$2 got=0
	shift 2
	"$@" >"$work/out" 2>"$work/err" || got=$?
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat "$work/err")"
	grep -qF -- "$text" "$work/err" || fail "$*: stderr lacks '$text': $(cat "$work/err")"
}

expect 1 "$work/none.conf: No such file or directory" "$dp" --config "$work/none.conf"
expect 2 "usage:" "$dp"
expect 2 "usage:" "$dp" --bogus x
expect 1 "no dataplane instance 'nosuch$$'" "$dp" --stats "nosuch$$"
sed 's/^idle = spin/idle = spin\nidel = spin/' "$work/dp.conf" >"$work/key.conf"
expect 1 "$work/key.conf:15: [worker.0] idel: unknown key" "$dp" --config "$work/key.conf"
sed 's/^kind = uring/kind = pcap/' "$work/dp.conf" >"$work/kind.conf"
expect 1 "[driver] kind: 'pcap' is not one of: dpdk, xdp, uring" "$dp" --config "$work/kind.conf"
sed "s/^interface = lo/interface = tsx$$-no/" "$work/dp.conf" >"$work/if.conf"
expect 1 "interface tsx$$-no not found" "$dp" --config "$work/if.conf"
sed 's/^core = .*/core = 4095/' "$work/dp.conf" >"$work/core.conf"
expect 1 "[worker.0] core: cpu 4095 is not present or not allowed" "$dp" --config "$work/core.conf"
[ -e "/dev/shm/tradsys-$inst-stats" ] && fail "a failed start left its stats region behind"

"$dp" --config "$work/dp.conf" >"$work/dp.out" 2>"$work/dp.err" &
pid=$!
stats() { "$dp" --stats "$inst" 2>/dev/null; }
for _ in $(seq 100); do
	stats | grep -q '"state":"running","start' && break
	if ! kill -0 "$pid" 2>/dev/null; then
		if grep -q "io_uring" "$work/dp.err"; then
			echo "SKIP: io_uring unavailable: $(cat "$work/dp.err")"
			exit 77
		fi
		fail "dataplane exited during start"
	fi
	sleep 0.1
done
stats | grep -q '"state":"running","start' || fail "dataplane not running after 10 s"

# The sender: 1000 datagrams of 1..300 bytes, alternating flows; the expected dump lines.
python3 - "$port_a" "$port_b" "$work/sent.txt" <<'PY'
import socket, sys
ports = [int(sys.argv[1]), int(sys.argv[2])]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
with open(sys.argv[3], "w") as out:
    for i in range(1000):
        flow = i % 2
        payload = bytes((i * 7 + k) & 0xFF for k in range(1 + (i * 37) % 300))
        s.sendto(payload, ("127.0.0.1", ports[flow]))
        out.write(f"{flow} {len(payload)} {payload.hex()}\n")
PY
want_bytes=$(awk '{ s += $2 } END { print s }' "$work/sent.txt")

for _ in $(seq 100); do
	stats | grep -q '"packets":1000,' && break
	sleep 0.1
done
stats >"$work/stats.json" || fail "--stats failed while running"
python3 - "$work/stats.json" "$want_bytes" "$inst" <<'PY' || fail "stats JSON: $(cat "$work/stats.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["instance"] == sys.argv[3] and d["driver"] == "uring" and d["abi_version"] == 4, d
w = d["workers"][0]
assert w["packets"] == 1000, w["packets"]
assert w["bytes"] == int(sys.argv[2]), (w["bytes"], sys.argv[2])
assert w["busy_passes"] >= 1 and w["passes"] >= w["busy_passes"], w
assert w["state"] == "running" and w["timer_calls"] >= 1, w
assert set(w["drops"]) == {"not_udp", "malformed", "fragment", "no_flow"}, w["drops"]
assert w["burst_ns"]["count"] == w["busy_passes"], w["burst_ns"]
# ABI 4: stalls of the worker's core, consistent with each other.
assert w["stalls"] >= 0 and w["stall_max_ns"] <= w["stalled_ns"], w
assert (w["stalls"] == 0) == (w["stalled_ns"] == 0), w
# ABI 3: a worker that does not trade has empty session, account and position tables.
t = w["trading"]
assert t["sessions"] == [] and t["accounts"] == [] and t["positions"] == [], t
assert t["kill_switches"]["firm"] is False and t["money_scale"] == 10000, t
PY

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "dataplane exited $rc after SIGTERM"
grep -q "^worker 0 .* packets 1000 bytes $want_bytes " "$work/dp.out" ||
	fail "summary: $(cat "$work/dp.out")"
[ -e "/dev/shm/tradsys-$inst-stats" ] && fail "stats region left behind after a clean exit"
# Each flow is its own socket, so only the order within a flow is defined.
for f in 0 1; do
	cmp -s <(grep "^$f " "$work/sent.txt") <(grep "^$f " "$work/dump.txt") ||
		fail "flow $f: dump differs from what was sent ($(wc -l <"$work/dump.txt") lines)"
done
[ "$(wc -l <"$work/dump.txt")" = 1000 ] || fail "dump has $(wc -l <"$work/dump.txt") lines"
echo "PASS"
