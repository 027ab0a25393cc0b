#!/usr/bin/env bash
# Description: a real Prometheus server scrapes `tradsys-controlplane serve`'s /metrics. A live
# tradsys-dataplane (count handler on loopback, lib_count_dataplane.sh) counts 137 UDP packets;
# prometheus (the Debian package, scripts/bootstrap) runs with a temporary config and storage on
# a free loopback port, scraping every second. Its HTTP API must report the target healthy
# (/api/v1/targets: health "up", no scrape error), and /api/v1/query must return, for
# tradsys_worker_packets_total{worker="0"} and tradsys_dataplane_up, the values the exporter
# served (137 and 1), and for the exporter's own tradsys_api_requests_total a series per code.
# Prometheus is killed on any exit.
# Usage: pg-test test_api_prometheus.sh TRADSYS_CONTROLPLANE TRADSYS_DATAPLANE   (0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 dp=$2
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
if ! command -v prometheus >/dev/null; then
	echo "SKIP: prometheus not installed (scripts/bootstrap installs the prometheus package)"
	exit 77
fi
work=$(mktemp -d /tmp/tradsys-api-prom-XXXXXX)
inst="gprom$$"
dpid='' srv='' prom=''
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for p in $prom $srv $dpid; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -f "/dev/shm/tradsys-$inst-stats" "/dev/shm/tradsys-$inst-cmd-0"
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in dp.err srv.err prom.err; do
		[ -f "$work/$f" ] && tail -n 10 "$work/$f" | sed "s/^/  $f: /"
	done
	exit 1
}

# shellcheck source=lib_count_dataplane.sh
. "$(dirname "$0")/lib_count_dataplane.sh"
start_count_dataplane "$dp" "$inst" "$work" backoff

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail "openssl req"
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
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$mport/metrics" && break
	kill -0 "$srv" 2>/dev/null || fail "serve exited"
	sleep 0.1
done
# An HTTPS request, so the exporter has an API status code to count.
curl -sf --cacert "$work/cert.pem" -o /dev/null "https://127.0.0.1:$port/api/v1/health" ||
	fail "health"

python3 - "$udp" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(137):
    s.sendto(b"p" * (i % 40 + 1), ("127.0.0.1", int(sys.argv[1])))
PY
served() { # served SERIES: its value in a scrape of our own
	curl -sf "http://127.0.0.1:$mport/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}
for _ in $(seq 100); do [ "$(served 'tradsys_worker_packets_total{worker="0"}')" = 137 ] && break; sleep 0.1; done
[ "$(served 'tradsys_worker_packets_total{worker="0"}')" = 137 ] ||
	fail "the exporter serves packets $(served 'tradsys_worker_packets_total{worker="0"}'), expected 137"

# ---- prometheus, scraping serve every second ----
read -r pport < <(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tradsys
    static_configs:
      - targets: ['127.0.0.1:$mport']
        labels:
          appliance: test
EOF
if command -v promtool >/dev/null; then
	promtool check config "$work/prometheus.yml" >"$work/pc.out" 2>&1 ||
		fail "promtool check config: $(cat "$work/pc.out")"
fi
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$work/prom.out" 2>"$work/prom.err" &
prom=$!
papi="http://127.0.0.1:$pport/api/v1"
for _ in $(seq 150); do
	curl -sf -o /dev/null "http://127.0.0.1:$pport/-/ready" && break
	kill -0 "$prom" 2>/dev/null || fail "prometheus exited during start"
	sleep 0.1
done

# The target: up, with no scrape error, once a scrape has happened.
target() {
	curl -sf "$papi/targets" | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin)["data"]["activeTargets"] if x["labels"]["job"] == "tradsys"]
print(*([t[0]["health"], t[0]["scrapeUrl"], repr(t[0]["lastError"])] if t else ["none", "-", "-"]))'
}
for _ in $(seq 150); do target | grep -q '^up ' && break; sleep 0.1; done
read -r health url lasterr < <(target) || fail "no target in /api/v1/targets"
[ "$health" = up ] || fail "target health $health ($lasterr)"
[ "$url" = "http://127.0.0.1:$mport/metrics" ] || fail "target url $url"
[ "$lasterr" = "''" ] || fail "target error $lasterr"

# query EXPR: the value of the single series EXPR selects, as Prometheus stored it.
query() {
	curl -sf --get --data-urlencode "query=$1" "$papi/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["data"]["result"] if d["status"] == "success" else []
print(r[0]["value"][1] if len(r) == 1 else "series:%d" % len(r))'
}
for s in 'tradsys_worker_packets_total{worker="0"}' 'tradsys_dataplane_up'; do
	want=$(served "$s")
	[ -n "$want" ] || fail "the exporter does not serve $s"
	got=''
	for _ in $(seq 100); do
		got=$(query "$s" 2>/dev/null) || got=''
		[ "$got" = "$want" ] && break
		sleep 0.1
	done
	[ "$got" = "$want" ] || fail "prometheus has $s = $got, the exporter served $want"
	echo "ok: prometheus stored $s = $got, as served"
done
# The stored series carry the scrape's labels: the job and the target's own.
[ "$(query 'tradsys_dataplane_up{job="tradsys",appliance="test",instance="127.0.0.1:'"$mport"'"}')" = 1 ] ||
	fail "tradsys_dataplane_up lacks the job/instance/appliance labels"
n=$(curl -sf --get --data-urlencode 'query=count(tradsys_api_requests_total)' "$papi/query" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])') ||
	fail "count(tradsys_api_requests_total) query"
[ "$n" -ge 1 ] || fail "no tradsys_api_requests_total series stored"
[ "$(query 'tradsys_api_requests_total{code="200"}')" -ge 1 ] ||
	fail "tradsys_api_requests_total{code=\"200\"} not counted"
echo "PASS: prometheus $(prometheus --version 2>&1 | sed -n '1s/.*version \([^ ]*\).*/\1/p') scraped serve, $n request series"
