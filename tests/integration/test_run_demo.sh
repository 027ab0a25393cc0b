#!/usr/bin/env bash
# Description: scripts/run-demo --duration 6 on this build: the appliance trades against the
# simulator with its control plane on a private PostgreSQL, the live table and `tsctl top` print,
# and the summary shows fills, an account PnL line, tick-to-trade figures and the fills persisted
# to PostgreSQL (as many as the dataplane made); everything it made is gone afterwards
# (namespaces, stats region).
# Usage: test_run_demo.sh SOURCE_ROOT BUILD_DIR   (exit 0 pass, 1 fail, 77 skip)
set -euo pipefail
src=$1
build=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
out=$(mktemp /tmp/tradsys-demo-test-XXXXXX)
trap 'rm -f "$out"' EXIT
"$src/scripts/run-demo" --duration 6 --build-dir "$build" >"$out" 2>&1 || { cat "$out"; exit 1; }
cat "$out"
fills=$(sed -n 's/^  trading: .* fills \([0-9]*\) .*/\1/p' "$out" | head -1)
[ "${fills:-0}" -gt 0 ] || { echo "FAIL: no fills in the demo"; exit 1; }
grep -q '^  trading: account 0 pnl ' "$out" || { echo "FAIL: no PnL line"; exit 1; }
grep -q '^  trading: tick_to_trade_ns n [1-9]' "$out" || { echo "FAIL: no tick-to-trade line"; exit 1; }
grep -q '^    tsctl top ' "$out" || { echo "FAIL: no tsctl top frame"; exit 1; }
grep -q "^control plane: [0-9]* order events and $fills fills persisted" "$out" ||
	{ echo "FAIL: the persisted fills are not the dataplane's $fills"; exit 1; }
# This run's names (others may run at the same time): demo<pid>x / demo<pid>d, instance demo<pid>.
tag=$(sed -n 's/^tradsys demo: exsim (venue, \(demo[0-9]*\)x).*/\1/p' "$out" | head -1)
[ -n "$tag" ] || { echo "FAIL: no namespace names in the output"; exit 1; }
if ip netns list | grep -qE "^${tag}[xd]( |$)"; then echo "FAIL: $tag namespaces left behind"; exit 1; fi
[ -e "/dev/shm/tradsys-$tag-stats" ] && { echo "FAIL: the $tag stats region was left behind"; exit 1; }
echo "ok: the demo traded ($fills fills) and cleaned up"
