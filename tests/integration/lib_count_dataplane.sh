# Sourced by integration tests that need a live tradsys-dataplane without traffic of its own:
# the count handler on the io_uring driver over loopback, its stats region running.
#   start_count_dataplane DATAPLANE INSTANCE WORKDIR IDLE
# Sets dpid (its pid) and udp (the loopback UDP port it listens on), plus port and mport, two
# free TCP ports for the caller's servers. Writes WORKDIR/dp.{conf,out,err}. Exits 77 when
# io_uring is unavailable; calls the caller's fail() when the dataplane does not start.
start_count_dataplane() {
	local dp=$1 inst=$2 work=$3 idle=$4 core
	read -r udp port mport < <(python3 -c '
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(u.getsockname()[1], *[x.getsockname()[1] for x in s])')
	core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
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
idle = $idle
handler = count
CONF
	"$dp" --config "$work/dp.conf" >"$work/dp.out" 2>"$work/dp.err" &
	dpid=$!
	for _ in $(seq 100); do
		"$dp" --stats "$inst" 2>/dev/null | grep -q '"state":"running","start' && return 0
		if ! kill -0 "$dpid" 2>/dev/null; then
			grep -q io_uring "$work/dp.err" && { echo "SKIP: io_uring unavailable"; exit 77; }
			fail "dataplane exited during start"
		fi
		sleep 0.1
	done
}
