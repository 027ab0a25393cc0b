#!/usr/bin/env bash
# Description: every metric name that deploy/baremetal's Grafana dashboard (grafana/tradsys.json)
# and Prometheus alert rules (prometheus/rules.yml) query exists in a live scrape. The dataplane
# trades (lib_trading_dataplane.sh: tradsys-exsim and the market maker on loopback, io_uring
# driver), so its venue session, risk rejects by control, kill switches, accounts' PnL and
# positions are in the scrape, which `promtool check metrics` passes with no warning (when
# installed); `tradsys-controlplane serve` runs the exporter; in addition a journal (journal_gen) is
# copied into the database by a real `tradsys-controlplane persist`, so the persister's series
# (checkpoint, lag) are in the scrape too. The dashboard must parse as JSON, and its queries are
# every "expr" of its panels and every query of its template variables.
# Usage: pg-test test_deploy_metrics.sh TRADSYS_CONTROLPLANE TRADSYS_DATAPLANE JOURNAL_GEN DEPLOY_DIR
#        TRADSYS_EXSIM
#        (0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 dp=$2 gen=$3 deploy=$4 exsim=$5
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
work=$(mktemp -d /tmp/tradsys-deploy-metrics-XXXXXX)
inst="hdm$$"
dpid='' srv='' ppid='' xpid=''
cleanup() {
	for p in $srv $ppid $dpid $xpid; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -f "/dev/shm/tradsys-$inst-stats" "/dev/shm/tradsys-$inst-cmd-"*
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in dp.err ex.err srv.err persist.log; do
		[ -f "$work/$f" ] && tail -n 10 "$work/$f" | sed "s/^/  $f: /"
	done
	exit 1
}

# shellcheck source=lib_trading_dataplane.sh
. "$(dirname "$0")/lib_trading_dataplane.sh"
start_trading_dataplane "$dp" "$exsim" "$inst" "$work"

# A journal of worker 0, persisted: the checkpoint row and the lag series appear.
mkdir -p "$work/journal"
# As tradsys-persister.service does: migrate, then persist.
"$cp" migrate --database "$TRADSYS_TEST_DATABASE" >"$work/migrate.log" 2>&1 || fail "migrate: $(cat "$work/migrate.log")"
"$gen" write "$work/journal" "$inst" 1 500 0 >"$work/gen.log" 2>&1 || fail "journal_gen"
"$cp" persist --database "$TRADSYS_TEST_DATABASE" --journal-dir "$work/journal" --instance "$inst" \
	>"$work/persist.log" 2>&1 &
ppid=$!
for _ in $(seq 100); do
	n=$(psql -qtAX -c "SELECT last_seq FROM journal_checkpoints WHERE instance = '$inst' AND worker = 0" 2>/dev/null || true)
	[ "$n" = 500 ] && break
	kill -0 "$ppid" 2>/dev/null || fail "persister exited"
	sleep 0.1
done
[ "$n" = 500 ] || fail "persister checkpoint: '$n', want 500"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail "openssl req"
cat >"$work/cp.conf" <<CONF
[api]
listen = 127.0.0.1:$port
cert = $work/cert.pem
key = $work/key.pem
database = $TRADSYS_TEST_DATABASE
instance = $inst
jwt_secret_file = $work/jwt.secret
[metrics]
listen = 127.0.0.1:$mport
journal_dir = $work/journal
CONF
"$cp" serve --config "$work/cp.conf" >"$work/srv.out" 2>"$work/srv.err" &
srv=$!
scrape() { curl -sf "http://127.0.0.1:$mport/metrics" >"$work/m.txt"; }
for _ in $(seq 100); do scrape && break; kill -0 "$srv" 2>/dev/null || fail "serve exited"; sleep 0.1; done
# One admin API request, so the request counter has a sample from a real answer.
curl -sk "https://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 || true
scrape || fail "scrape"
grep -q '^tradsys_dataplane_up 1$' "$work/m.txt" || fail "dataplane_up"
grep -q '^tradsys_persister_lag_records{worker="0"} 0$' "$work/m.txt" || fail "persister lag: $(grep persister "$work/m.txt")"
grep -q '^tradsys_session_up{worker="0",venue="sim"} 1$' "$work/m.txt" || fail "session_up: $(grep session_up "$work/m.txt")"
grep -q '^tradsys_kill_switch_engaged{worker="0",scope="firm"} 0$' "$work/m.txt" || fail "kill switch series"
grep -qE '^tradsys_position\{worker="0",account="0",venue="sim",instrument="AAPL"\} -?[0-9]+$' "$work/m.txt" ||
	fail "position series: $(grep position "$work/m.txt")"
grep -qE '^tradsys_pnl_realized\{worker="0",account="0"\} -?[0-9]+\.[0-9]{4}$' "$work/m.txt" || fail "pnl series"
if command -v promtool >/dev/null; then
	promtool check metrics <"$work/m.txt" >"$work/p.out" 2>&1 || fail "promtool: $(cat "$work/p.out")"
	[ -s "$work/p.out" ] && fail "promtool warnings: $(cat "$work/p.out")"
fi

python3 - "$deploy/grafana/tradsys.json" "$deploy/prometheus/rules.yml" "$work/m.txt" <<'PY'
import json, re, sys

dash_path, rules_path, scrape_path = sys.argv[1:4]
name = re.compile(r"\btradsys_[a-z0-9_]+\b")

dash = json.load(open(dash_path))
queries = []
def walk(panels):
    for p in panels:
        for t in p.get("targets", []):
            queries.append(("dashboard: " + p.get("title", "?"), t["expr"]))
        walk(p.get("panels", []))
walk(dash["panels"])
for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    if v.get("type") == "query" and q:
        queries.append(("variable: " + v["name"], q))
# The rules file is YAML, but every expression is one "expr:" line.
for line in open(rules_path):
    m = re.match(r"\s*expr:\s*(.*)$", line)
    if m:
        queries.append(("rules.yml", m.group(1)))

live = set()
for line in open(scrape_path):
    if line and not line.startswith("#"):
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if m:
            live.add(m.group(1))

missing = {}
used = set()
for where, q in queries:
    for n in name.findall(q):
        used.add(n)
        if n not in live:
            missing.setdefault(n, where)
if len(queries) < 20 or len(used) < 20:
    print(f"FAIL: only {len(queries)} queries naming {len(used)} metrics found")
    sys.exit(1)
if missing:
    for n, where in sorted(missing.items()):
        print(f"FAIL: {n} (used in {where}) is not in the live scrape")
    sys.exit(1)
print(f"{len(queries)} queries use {len(used)} metric names, all in the live scrape of {len(live)} series names")
PY
echo PASS
