#!/usr/bin/env bash
# Description: tradsys-dataplane with handler = feed decodes the same MoldUDP64/ITCH stream the same
# way on every driver. Two network namespaces joined by a veth (names from $$, removed on exit
# also on failure): a sender in one publishes each packet of a `tradsys-itch pcap` file on line A
# (one group) and line B (another group, same port), dropping every fifth packet on A so the B line
# must fill in; tradsys-dataplane runs in the other once per driver (dpdk net_af_packet, dpdk
# net_af_xdp, xdp, uring) on the Nasdaq sample and on a generated day. Each decoded file must equal
# the sent message sequence ("<seq> <hex>"), so all drivers agree, with no gap lost and no stale
# book, and its book checksum lines must equal `tradsys-itch stats`. Then DPDK net_pcap replays the
# pcap file itself (no namespace) and must give the same book checksum lines.
# Usage: test_feed_drivers.sh TRADSYS_DATAPLANE TRADSYS_ITCH   (exit 0 pass, 1 fail, 77 skip)
set -euo pipefail
dp=$1
tool=$2
src=${TRADSYS_SOURCE_ROOT:-.}
sample="$src/../shared/data/itch/nasdaq-sample-1000.itch"
work=$(mktemp -d /tmp/tradsys-feed-test-XXXXXX)
tag="tsf$$"
nss="${tag}s" # the sender's namespace and veth end
nsr="${tag}r" # the dataplane's
inst="feed$$"
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	ip netns del "$nss" 2>/dev/null || true
	ip netns del "$nsr" 2>/dev/null || true
	rm -f "/dev/shm/tradsys-$inst-stats"
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/dp.err" ] && sed 's/^/  dataplane: /' "$work/dp.err"
	[ -f "$work/dp.out" ] && sed 's/^/  summary: /' "$work/dp.out"
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces, a veth pair and XDP"
# The Nasdaq sample lives beside the repository (../shared); without it the generated day alone runs.
days="sample gen"
[ -f "$sample" ] || { echo "note: no Nasdaq sample at $sample: generated day only"; days=gen; }
ip netns add "$nss" 2>/dev/null || skip "cannot create a network namespace (ip netns add failed)"
ip netns add "$nsr" || fail "ip netns add $nsr"

# Both ends live in namespaces of their own, so fixed addresses cannot meet anything else. IPv6 is
# off so no router or listener traffic shares the wire; a multicast route lets the sender pick the
# veth, and the dataplane's side has one for the kernel joins (uring, xdp).
ip link add "${tag}s" netns "$nss" type veth peer name "${tag}r" netns "$nsr" ||
	fail "cannot create veth ${tag}s/${tag}r"
for side in s r; do
	ns="${tag}$side"
	addr=$([ $side = s ] && echo 10.99.0.2 || echo 10.99.0.1)
	ip netns exec "$ns" sh -c "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
		ip addr add $addr/30 dev ${tag}$side && ip link set ${tag}$side up &&
		ip link set lo up && ip route add 224.0.0.0/4 dev ${tag}$side" ||
		fail "cannot configure ${tag}$side in $ns"
done

# Under LeakSanitizer: DPDK 22.11's net_af_xdp never frees the libxdp UMEM struct it makes in
# xsk_umem__create (80 bytes, once per port), a leak in the PMD (as in tests/unit/drivers/dpdk).
printf 'leak:xsk_umem__create\n' >"$work/lsan.supp"
export LSAN_OPTIONS="suppressions=$work/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
group_a=239.77.1.1
group_b=239.77.1.2
port=26400

"$tool" gen --messages 20000 --symbols 20 --seed 7 -o "$work/gen.itch"
[ -f "$sample" ] && cp "$sample" "$work/sample.itch"
for day in $days; do
	"$tool" pcap "$work/$day.itch" -o "$work/$day.pcap" --group "$group_a" --port "$port" \
		2>/dev/null
	"$tool" stats "$work/$day.itch" | grep -E '^(book |books_checksum )' >"$work/$day.books"
	# The expected decoded lines: every message of the file with its MoldUDP64 sequence.
	python3 - "$work/$day.itch" >"$work/$day.want" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
o, seq = 0, 1
out = sys.stdout
while o < len(b):
    (l,) = struct.unpack_from('>H', b, o)
    out.write('%d %s\n' % (seq, b[o + 2:o + 2 + l].hex()))
    o += 2 + l
    seq += 1
PY
done

# The sender: each pcap frame's UDP payload to group A (but every fifth) and to group B, paced so
# nothing overflows the veth or the receiver's ring. Prints the datagrams it sent.
cat >"$work/send.py" <<'PY'
import socket, struct, sys, time
pcap, ga, gb, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = open(pcap, 'rb').read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('10.99.0.2'))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
o, k, sent = 24, 0, 0
while o < len(data):
    _, _, incl, _ = struct.unpack_from('<IIII', data, o)
    o += 16
    payload = data[o + 42:o + incl]
    o += incl
    if k % 5 != 2:
        s.sendto(payload, (ga, port))
        sent += 1
    s.sendto(payload, (gb, port))
    sent += 1
    k += 1
    if k % 8 == 0:
        time.sleep(0.001)
print(sent)
PY

stats() { "$dp" --stats "$inst" 2>/dev/null; }
skipped=

# run_dp NAME DAY DRIVER_SECTION: starts the dataplane (in the namespace unless NAME is pcap) on
# DAY, waits until it runs, lets send() deliver, stops it and checks its decoded file.
run_dp() {
	local name=$1 day=$2 driver=$3 want_pkts=$4 rc=0
	local in_ns=(ip netns exec "$nsr")
	[ "$name" = pcap ] && in_ns=()
	cat >"$work/$name.conf" <<EOF
[appliance]
instance = $inst
log_level = warn
$driver
[feed.$day]
group = $group_a
port = $port
$([ "$name" = pcap ] || echo "b_group = $group_b")
$([ "$name" = pcap ] || echo "b_port = $port")
max_instruments = 1024
max_orders = 65536
max_levels = 256
[worker.0]
core = $core
idle = backoff
handler = feed
decoded_file = $work/$name-$day.dec
EOF
	"${in_ns[@]}" "$dp" --config "$work/$name.conf" >"$work/dp.out" 2>"$work/dp.err" &
	pid=$!
	for _ in $(seq 300); do
		stats | grep -q '"state":"running","start' && break
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" || true
			pid=
			# Only what this machine lacks is a skip; anything else is a failure.
			if grep -qE "not built|hugepage|memlock|io_uring" "$work/dp.err"; then
				echo "SKIP $name: $(cat "$work/dp.err")"
				skipped="$skipped $name"
				return 0
			fi
			fail "$name: dataplane exited during start"
		fi
		sleep 0.1
	done
	stats | grep -q '"state":"running","start' || fail "$name: dataplane not running after 30 s"
	if [ "$name" != pcap ]; then
		want_pkts=$(ip netns exec "$nss" python3 "$work/send.py" "$work/$day.pcap" \
			"$group_a" "$group_b" "$port") || fail "$name: sender failed"
	fi
	for _ in $(seq 200); do
		stats | grep -q "\"packets\":$want_pkts," && break
		sleep 0.1
	done
	# Let the worker apply what it took and run its timers before it is stopped.
	sleep 0.2
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	pid=
	[ "$rc" = 0 ] || fail "$name/$day: dataplane exited $rc after SIGTERM"
	grep -q "^worker 0 .* packets $want_pkts " "$work/dp.out" ||
		fail "$name/$day: the worker did not get the $want_pkts packets sent"
	grep -q "^feed $day worker 0 .* gaps_lost 0 lost_msgs 0 .* stale 0$" "$work/dp.out" ||
		fail "$name/$day: gaps lost or books stale"
	if [ "$name" != pcap ]; then
		grep -qE "^feed $day worker 0 line b packets [0-9]+ messages [0-9]+ delivered [1-9]" \
			"$work/dp.out" || fail "$name/$day: line B never filled line A's gaps"
	fi
	local dec="$work/$name-$day.dec"
	cmp -s <(grep -E '^[0-9]' "$dec") "$work/$day.want" ||
		fail "$name/$day: decoded messages differ from those sent ($(grep -cE '^[0-9]' "$dec") of $(wc -l <"$work/$day.want") lines)"
	cmp -s <(grep -E '^(book |books_checksum )' "$dec") "$work/$day.books" ||
		fail "$name/$day: book checksums differ from tradsys-itch stats"
	echo "ok $name $day: $(wc -l <"$work/$day.want") messages, $want_pkts packets"
}

# The veth must be up on both ends before anything is sent: a veth drops what comes earlier.
for _ in $(seq 100); do
	[ "$(ip netns exec "$nsr" cat /sys/class/net/${tag}r/operstate)" = up ] && break
	sleep 0.1
done

dpdk_eal="--no-pci --no-huge -m 256 --log-level=lib.eal:error"
for day in $days; do
	run_dp af_packet "$day" "[driver]
kind = dpdk
interface = ${tag}r
dpdk_args = $dpdk_eal --vdev=net_af_packet0,iface=${tag}r" 0
	# net_af_xdp fills its fill ring from the mempool at set-up: it needs 4096 buffers.
	run_dp af_xdp "$day" "[driver]
kind = dpdk
interface = ${tag}r
bufs = 4096
dpdk_args = $dpdk_eal --vdev=net_af_xdp0,iface=${tag}r,start_queue=0" 0
	run_dp xdp "$day" "[driver]
kind = xdp
interface = ${tag}r" 0
	run_dp uring "$day" "[driver]
kind = uring
interface = ${tag}r" 0
done
# Each already equals what was sent; compared with each other too, so a mismatch names drivers.
for day in $days; do
	ran=()
	for d in af_packet af_xdp xdp uring; do
		[ -f "$work/$d-$day.dec" ] && [[ " $skipped " != *" $d "* ]] && ran+=("$d")
	done
	for d in "${ran[@]:1}"; do
		cmp -s "$work/${ran[0]}-$day.dec" "$work/$d-$day.dec" ||
			fail "$day: the decoded files of ${ran[0]} and $d differ"
	done
done

# DPDK net_pcap replays the frames themselves: only line A, no namespace.
for day in $days; do
	frames=$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 24; n = 0
while o < len(d):
    o += 16 + struct.unpack_from("<IIII", d, o)[2]; n += 1
print(n)' "$work/$day.pcap")
	run_dp pcap "$day" "[driver]
kind = dpdk
dpdk_args = $dpdk_eal --vdev=net_pcap0,rx_pcap=$work/$day.pcap" "$frames"
done
if [ -n "$skipped" ]; then
	echo "SKIP: drivers this machine cannot run:$skipped (the others passed)"
	exit 77
fi
echo "PASS"
