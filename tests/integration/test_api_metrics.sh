#!/usr/bin/env bash
# Description: /metrics of `tradsys-controlplane serve` on a live tradsys-dataplane (io_uring
# driver on loopback, count handler): a scrape shows the dataplane up with its worker's packets
# and drop reasons, and `promtool check metrics` passes it with no warning; once the dataplane
# stops, tradsys_dataplane_up is 0 and the scrape still passes.
# Usage: pg-test test_api_metrics.sh TRADSYS_CONTROLPLANE TRADSYS_DATAPLANE   (0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 dp=$2
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
if ! command -v promtool >/dev/null; then
	echo "SKIP: promtool not installed (scripts/bootstrap installs the prometheus package)"
	exit 77
fi
work=$(mktemp -d /tmp/tradsys-api-metrics-XXXXXX)
inst="gmet$$"
dpid= srv=
cleanup() {
	for p in $srv $dpid; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -f "/dev/shm/tradsys-$inst-stats"
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in dp.err srv.err; do
		[ -f "$work/$f" ] && tail -n 10 "$work/$f" | sed "s/^/  $f: /"
	done
	exit 1
}

# shellcheck source=lib_count_dataplane.sh
. "$(dirname "$0")/lib_count_dataplane.sh"
start_count_dataplane "$dp" "$inst" "$work" spin

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail "openssl req"
cat >"$work/cp.conf" <<EOF
[api]
listen = 127.0.0.1:$port
cert = $work/cert.pem
key = $work/key.pem
database = $TRADSYS_TEST_DATABASE
instance = $inst
jwt_secret_file = $work/jwt.secret
[metrics]
listen = 127.0.0.1:$mport
EOF
"$cp" serve --config "$work/cp.conf" >"$work/srv.out" 2>"$work/srv.err" &
srv=$!
scrape() { curl -sf "http://127.0.0.1:$mport/metrics" >"$work/m.txt"; }
for _ in $(seq 100); do scrape && break; kill -0 "$srv" 2>/dev/null || fail "serve exited"; sleep 0.1; done

python3 - "$udp" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(b"x" * (i % 50 + 1), ("127.0.0.1", int(sys.argv[1])))
PY
for _ in $(seq 100); do
	scrape && grep -q '^tradsys_worker_packets_total{worker="0"} 200$' "$work/m.txt" && break
	sleep 0.1
done
grep -q '^tradsys_worker_packets_total{worker="0"} 200$' "$work/m.txt" ||
	fail "packets: $(grep packets "$work/m.txt")"
grep -q '^tradsys_dataplane_up 1$' "$work/m.txt" || fail "dataplane_up"
grep -q "^tradsys_dataplane_info{instance=\"$inst\",driver=\"uring\",state=\"running\"} 1$" "$work/m.txt" ||
	fail "dataplane_info"
grep -q '^tradsys_worker_drops_total{worker="0",reason="no_flow"} ' "$work/m.txt" || fail "drop reasons"
grep -q '^tradsys_worker_burst_duration_seconds_count{worker="0"} [1-9]' "$work/m.txt" || fail "burst histogram"
promtool check metrics <"$work/m.txt" >"$work/p.out" 2>&1 || fail "promtool: $(cat "$work/p.out")"
[ -s "$work/p.out" ] && fail "promtool warnings: $(cat "$work/p.out")"

kill -TERM "$dpid"
wait "$dpid" || fail "dataplane exit status"
dpid=
scrape || fail "scrape without a dataplane"
grep -q '^tradsys_dataplane_up 0$' "$work/m.txt" || fail "dataplane_up after stop"
promtool check metrics <"$work/m.txt" >"$work/p.out" 2>&1 || fail "promtool (no dataplane): $(cat "$work/p.out")"
[ -s "$work/p.out" ] && fail "promtool warnings (no dataplane): $(cat "$work/p.out")"
echo "PASS ($(grep -c '^tradsys_' "$work/m.txt") samples without, $(wc -l <"$work/p.out") warnings)"
