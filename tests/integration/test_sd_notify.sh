#!/usr/bin/env bash
# Description: the sd_notify protocol of the long-running commands, spoken to a notification
# socket this test owns (sd_notify_tool.py listen, a unix datagram socket like systemd's), with
# WATCHDOG_USEC=1 s so that pings are due every half second.
#   dataplane: a real tradsys-dataplane (count handler, io_uring driver on loopback). READY=1
#     arrives once, from the main pid, when the stats region says running for the process and
#     every worker (read the moment READY=1 arrives); WATCHDOG=1 every ~0.5 s; a worker thread
#     stopped alone (ptrace, sd_notify_tool.py freeze) stops the pings within a second and the
#     STATUS= line names it; resumed, the pings come back; SIGTERM gives STOPPING=1 and exit 0.
#   controlplane (under tests/scripts/pg-test): `persist` is READY=1 only once connected to the
#     database, with every one of its connections (with an unreachable database: no READY=1, a STATUS= line saying so, and the
#     pings still come as its loop turns, retrying); `serve` is READY=1 when /metrics answers;
#     both ping every ~0.5 s and send STOPPING=1 on SIGTERM.
# Usage: test_sd_notify.sh dataplane TRADSYS_DATAPLANE
#        pg-test test_sd_notify.sh controlplane TRADSYS_CONTROLPLANE   (0 pass, 1 fail, 77 skip)
set -euo pipefail
mode=$1 exe=$2
here=$(cd "$(dirname "$0")" && pwd)
tool=$here/sd_notify_tool.py
work=$(mktemp -d /tmp/tradsys-sd-notify-XXXXXX)
inst="sdn$$"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
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
	for f in notify.log prog.err; do
		[ -f "$work/$f" ] && tail -n 15 "$work/$f" | sed "s/^/  $f: /"
	done
	exit 1
}
now() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }

# listen LOG [CMD...]: a fresh notification socket logging to $work/LOG, CMD run at READY=1.
listen() {
	local log=$1
	shift
	rm -f "$work/notify.sock"
	python3 "$tool" listen "$work/notify.sock" "$work/$log" -- "$@" &
	pids+=($!)
	for _ in $(seq 50); do
		[ -S "$work/notify.sock" ] && return 0
		sleep 0.1
	done
	fail "the listener did not bind $work/notify.sock"
}
# wait_line LOG REGEX SECONDS: until a line of LOG matches.
wait_line() {
	for _ in $(seq $(($3 * 10))); do
		grep -Eq "$2" "$work/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# pings LOG FROM [TO]: the times of WATCHDOG=1 messages in [FROM, TO).
pings() {
	awk -v a="$2" -v b="${3:-1e12}" '$3 ~ /(^|\|)WATCHDOG=1(\||$)/ && $1 >= a && $1 < b { print $1 }' \
		"$work/$1"
}
# cadence LOG FROM TO MIN: at least MIN pings in [FROM, TO), their median gap 0.4..0.75 s (half
# of WATCHDOG_USEC, plus the main loops' tick) and none closer than 0.3 s. The largest gap is
# only shown: on a loaded 2-CPU machine a process may not run for a second.
cadence() {
	local n
	n=$(pings "$1" "$2" "$3" | wc -l)
	[ "$n" -ge "$4" ] || fail "$n WATCHDOG=1 between $2 and $3, want at least $4"
	pings "$1" "$2" "$3" | awk 'NR > 1 { print $1 - p } { p = $1 }' | sort -g |
		awk '{ d[NR] = $1 } END { m = d[int((NR + 1) / 2)]
		      printf "  %d pings, median gap %.3f s, min %.3f s, max %.3f s\n", NR + 1, m, d[1], d[NR]
		      exit !(m >= 0.4 && m <= 0.75 && d[1] >= 0.3) }' >"$work/gaps" ||
		fail "ping cadence off 0.5 s: $(cat "$work/gaps")"
	cat "$work/gaps"
}
# Runs a program as systemd would for Type=notify with WatchdogSec=2: pid kept in prog.
start_prog() {
	NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=1000000 "$@" >"$work/prog.out" 2>"$work/prog.err" &
	prog=$!
	pids+=("$prog")
}
stop_prog() {
	local t rc=0
	t=$(now)
	kill -TERM "$prog"
	wait "$prog" || rc=$?
	[ "$rc" = 0 ] || fail "$1 exited $rc after SIGTERM"
	wait_line "$2" "^[0-9.]+ $prog STOPPING=1" 2 || fail "$1: no STOPPING=1 after SIGTERM"
	awk -v t="$t" '$3 ~ /^STOPPING=1/ && $1 < t { bad = 1 } END { exit bad }' "$work/$2" ||
		fail "$1: STOPPING=1 before the signal"
	echo "$1: SIGTERM -> STOPPING=1 ($(grep -m1 STOPPING=1 "$work/$2" | cut -d' ' -f3-)), exit 0"
}
ready_once() {
	local n
	n=$(grep -c " READY=1" "$work/$1" || true)
	[ "$n" = 1 ] || fail "$n READY=1 messages, want 1"
	grep -Eq "^[0-9.]+ $prog READY=1" "$work/$1" || fail "READY=1 not from the main pid $prog"
}

test_dataplane() {
	local dp=$exe core udp t_ready t_freeze t_quiet t_thaw frz
	core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
	udp=$(python3 -c 'import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0)); print(u.getsockname()[1])')
	# command_poll = 64: idle with backoff, the heartbeat moves every ~64 ms, well inside the
	# 0.5 s ping interval (the dataplane warns when a configuration cannot keep up).
	cat >"$work/dp.conf" <<CONF
[appliance]
instance = $inst
log_level = warn
[driver]
kind = uring
interface = lo
queues = 1
[feed.a]
port = $udp
[worker.0]
core = $core
idle = backoff
command_poll = 64
handler = count
CONF
	listen notify.log "$dp" --stats "$inst"
	start_prog "$dp" --config "$work/dp.conf"
	if ! wait_line notify.log ' READY=1' 10; then
		if ! kill -0 "$prog" 2>/dev/null && grep -q io_uring "$work/prog.err"; then
			echo "SKIP: io_uring unavailable"
			exit 77
		fi
		fail "no READY=1 from the dataplane"
	fi
	wait_line notify.log 'ready-check' 5 || fail "no stats read at READY=1"
	ready_once notify.log
	grep -q 'READY=1|STATUS=1 worker(s) running on driver uring, instance '"$inst" "$work/notify.log" ||
		fail "READY=1 without its STATUS= line"
	# At READY=1 the process and its one worker were running: two "state":"running".
	[ "$(grep ready-check "$work/notify.log" | grep -o '"state":"running"' | wc -l)" = 2 ] ||
		fail "stats at READY=1: $(grep ready-check "$work/notify.log")"
	echo "dataplane: READY=1 once, from pid $prog, with the stats region running (process and worker)"
	grep -q 'command_poll' "$work/prog.err" && fail "a stall-limit warning for command_poll = 64"

	t_ready=$(awk '$3 ~ /^READY=1/ { print $1; exit }' "$work/notify.log")
	sleep 3
	cadence notify.log "$t_ready" "$(now)" 5

	python3 "$tool" freeze "$prog" ts-worker-0 >"$work/freeze.out" 2>&1 &
	frz=$!
	pids+=("$frz")
	for _ in $(seq 50); do
		grep -q frozen "$work/freeze.out" && break
		kill -0 "$frz" 2>/dev/null || fail "freeze: $(cat "$work/freeze.out")"
		sleep 0.1
	done
	t_freeze=$(now)
	sleep 3
	kill -0 "$prog" || fail "the dataplane died with its worker stopped"
	# Stall limit 0.5 s, seen within a 0.1 s tick, then the next due ping is withheld.
	t_quiet=$(awk -v t="$t_freeze" 'BEGIN { printf "%.6f", t + 1.0 }')
	[ -z "$(pings notify.log "$t_quiet")" ] ||
		fail "WATCHDOG=1 after the worker stopped: $(pings notify.log "$t_freeze" | tr '\n' ' ')"
	grep -Eq "STATUS=worker 0 \(core $core\) stuck: no heartbeat for" "$work/notify.log" ||
		fail "no STATUS= naming the stuck worker"
	grep -q 'worker 0 (core .*): no heartbeat for .* watchdog ping withheld' "$work/prog.err" ||
		fail "no log line for the withheld ping"
	echo "dataplane: worker thread stopped (ptrace) -> no WATCHDOG=1 from 1 s after on, STATUS names it"

	t_thaw=$(now)
	kill -TERM "$frz"
	wait "$frz" || true
	sleep 2
	[ -n "$(pings notify.log "$t_thaw")" ] || fail "no WATCHDOG=1 after the worker resumed"
	awk -v t="$t_thaw" '$1 >= t && / STATUS=1 worker\(s\) running/' "$work/notify.log" | grep -q . ||
		fail "STATUS= not back to running after the worker resumed"
	echo "dataplane: worker resumed -> pings again, STATUS running"
	stop_prog dataplane notify.log
}

test_controlplane() {
	local cp=$exe t port mport
	if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
		echo "SKIP: run under tests/scripts/pg-test"
		exit 77
	fi
	"$cp" migrate --database "$TRADSYS_TEST_DATABASE" >"$work/migrate.log" 2>&1 ||
		fail "migrate: $(cat "$work/migrate.log")"
	mkdir -p "$work/journal"

	# No database to reach: the loop turns (pings) but it is not ready, and says why.
	listen nodb.log
	start_prog "$cp" persist --database "postgresql:///tradsys?host=$work/nowhere" \
		--journal-dir "$work/journal" --instance "$inst"
	t=$(now)
	sleep 2.5
	grep -q ' READY=1' "$work/nodb.log" && fail "persist READY=1 without a database"
	grep -q 'STATUS=waiting for the database: connect:' "$work/nodb.log" ||
		fail "persist without a database: no STATUS= saying so"
	# Each retry is a pass (the backoff grows to 2 s, well inside WatchdogSec=30 s of the unit).
	[ "$(pings nodb.log "$t" | wc -l)" -ge 2 ] || fail "persist without a database: pings stopped"
	echo "persist, database unreachable: no READY=1, STATUS=$(grep -m1 -o 'waiting for the database: connect' "$work/nodb.log"), pings go on"
	stop_prog "persist (no database)" nodb.log

	listen persist.log psql -qtAX -c \
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tradsys-persister'"
	start_prog "$cp" persist --database "$TRADSYS_TEST_DATABASE" --journal-dir "$work/journal" \
		--instance "$inst" --connections 2
	wait_line persist.log ' READY=1' 10 || fail "no READY=1 from persist"
	wait_line persist.log 'ready-check' 5 || fail "no database check at READY=1"
	ready_once persist.log
	grep -q "READY=1|STATUS=copying the journals of instance $inst in $work/journal" "$work/persist.log" ||
		fail "persist READY=1 without its STATUS= line"
	grep -Eq 'ready-check 2 ?$' "$work/persist.log" ||
		fail "persist was not connected at READY=1: $(grep ready-check "$work/persist.log")"
	t=$(awk '$3 ~ /^READY=1/ { print $1; exit }' "$work/persist.log")
	echo "persist: READY=1 once, connected to the database at that moment"
	sleep 2.5
	cadence persist.log "$t" "$(now)" 4
	stop_prog persist persist.log

	read -r port mport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
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
CONF
	listen serve.log curl -s -o /dev/null -w 'metrics %{http_code}' "http://127.0.0.1:$mport/metrics"
	start_prog "$cp" serve --config "$work/cp.conf"
	wait_line serve.log ' READY=1' 15 || fail "no READY=1 from serve"
	wait_line serve.log 'ready-check' 5 || fail "no scrape at READY=1"
	ready_once serve.log
	grep -q "READY=1|STATUS=HTTPS API on 127.0.0.1:$port, /metrics on 127.0.0.1:$mport, instance $inst" \
		"$work/serve.log" || fail "serve READY=1 without its STATUS= line"
	grep -q 'ready-check metrics 200' "$work/serve.log" ||
		fail "/metrics did not answer at READY=1: $(grep ready-check "$work/serve.log")"
	t=$(awk '$3 ~ /^READY=1/ { print $1; exit }' "$work/serve.log")
	echo "serve: READY=1 once, /metrics answering 200 at that moment"
	sleep 2.5
	cadence serve.log "$t" "$(now)" 4
	stop_prog serve serve.log
}

case "$mode" in
dataplane) test_dataplane ;;
controlplane) test_controlplane ;;
*) echo "usage: test_sd_notify.sh dataplane|controlplane PROGRAM" >&2; exit 2 ;;
esac
echo PASS
