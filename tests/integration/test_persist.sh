#!/usr/bin/env bash
# Description: the persister copies journals into PostgreSQL exactly once through crashes. A
# writer appends N records (default 200000) over two workers' journals while the persister is
# killed with SIGKILL at random moments and restarted, the writer itself is killed once and
# resumes its journals, and the PostgreSQL server is stopped with `pg_ctl stop -m immediate`
# mid-stream and started again (the persister reconnects, or exits and is restarted). At the end
# the database holds exactly the journal: every record's (worker, seq, type, id, quantity) equal,
# fills equal, counts and sums of seq and qty equal, orders' cumulative quantity equal to the fills,
# every orders row equal to the order's lifecycle in the journal (its latest event's state, the
# quantity filled, its first time, replaced when a later replace names it) whatever the batches
# and crashes cut it into, every order's events found by the way GET /orders/{id} reads them (its
# row's born range and the partial order index), and a SIGTERM stops the persister with status 0. The persister runs
# with 1, 2 or 3 connections in turn (the workers' split over them changes between runs).
# Usage: pg-test test_persist.sh TRADSYS_CONTROLPLANE JOURNAL_GEN [N]   (exit 0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 gen=$2 total=${3:-200000}
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
db=$TRADSYS_TEST_DATABASE
work=$(mktemp -d /tmp/tradsys-persist-test-XXXXXX)
jdir=$work/journal
mkdir "$jdir"
inst="pt$$"
ppid= wpid=
cleanup() {
	for p in $ppid $wpid; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/persist.log" ] && tail -n 30 "$work/persist.log" | sed 's/^/  persister: /'
	exit 1
}
sql() { psql -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }

"$cp" migrate --database "$db" >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; fail "migrate"; }

starts=0
start_persister() {
	starts=$((starts + 1))
	"$cp" persist --database "$db" --journal-dir "$jdir" --instance "$inst" --batch 2000 \
		--connections $((starts % 3 + 1)) >>"$work/persist.log" 2>&1 &
	ppid=$!
}
start_writer() {
	"$gen" write "$jdir" "$inst" 2 "$total" 25000 5000 >>"$work/writer.log" 2>&1 &
	wpid=$!
}
# Restarts the persister if it exited on its own (allowed after the server went away).
revive() {
	if ! kill -0 "$ppid" 2>/dev/null; then
		local rc=0
		wait "$ppid" || rc=$?
		echo "persister exited with $rc; restarting"
		restarts=$((restarts + 1))
		start_persister
	fi
}
pause() { sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + r / 32767 * 0.9 }')"; }

restarts=0 kills=0
start_writer
start_persister
for round in 1 2 3 4 5 6 7; do
	pause
	revive
	kill -KILL "$ppid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
	kills=$((kills + 1))
	case $round in
	2)
		# The dataplane side dies too: the writer resumes after its last complete record.
		kill -KILL "$wpid" 2>/dev/null || true
		wait "$wpid" 2>/dev/null || true
		start_writer
		;;
	4)
		# The database crashes while the persister streams into it.
		start_persister
		pause
		$TRADSYS_PG_CTL stop -m immediate >/dev/null
		sleep 1
		$TRADSYS_PG_CTL start >/dev/null || fail "PostgreSQL did not restart"
		# The same persister carries on through the crash (or is restarted if it gave up):
		# starting another beside it would leave one running after the test.
		revive
		continue
		;;
	esac
	start_persister
done
wait "$wpid" || fail "the writer failed: $(cat "$work/writer.log")"
wpid=

# Wait for the persister to catch up with both journals.
for _ in $(seq 1 600); do
	revive
	done_rows=$(sql "SELECT coalesce(sum(last_seq), 0) FROM journal_checkpoints WHERE instance = '$inst'" 2>/dev/null || echo 0)
	[ "$done_rows" = "$total" ] && break
	sleep 0.2
done
[ "$done_rows" = "$total" ] || fail "checkpoints reached $done_rows of $total"
kill -TERM "$ppid"
rc=0
wait "$ppid" || rc=$?
ppid=
[ "$rc" = 0 ] || fail "persister exit status $rc after SIGTERM"

"$gen" dump "$jdir" "$inst" 2 >"$work/journal.txt"
sql "COPY (SELECT worker, seq, event_type::text, order_id, qty FROM order_events WHERE instance = '$inst'
	UNION ALL SELECT worker, seq, 'risk', order_id, qty FROM risk_events WHERE instance = '$inst'
	UNION ALL SELECT worker, seq, 'session', in_seq, out_seq FROM session_events WHERE instance = '$inst'
	UNION ALL SELECT worker, seq, 'command_ack', command_id, result FROM command_results WHERE instance = '$inst'
	ORDER BY 1, 2) TO STDOUT" >"$work/db.txt"
[ "$(wc -l <"$work/journal.txt")" = "$total" ] || fail "the journal has $(wc -l <"$work/journal.txt") records, not $total"
cmp -s "$work/journal.txt" "$work/db.txt" ||
	fail "database rows differ from the journal: $(diff "$work/journal.txt" "$work/db.txt" | head -n 5)"

"$gen" fills "$jdir" "$inst" 2 >"$work/journal_fills.txt"
sql "COPY (SELECT worker, seq, order_id, qty FROM fills WHERE instance = '$inst' ORDER BY 1, 2) TO STDOUT" >"$work/db_fills.txt"
cmp -s "$work/journal_fills.txt" "$work/db_fills.txt" || fail "fills differ from the journal"

# Aggregates, as the brief states them: counts, sum of seq, sum of qty, distinct keys.
read -r jn jseq jqty < <(awk '{ n++; s += $2; q += $5 } END { printf "%.0f %.0f %.0f\n", n, s, q }' "$work/journal.txt")
read -r dn dseq dqty dkeys < <(sql "SELECT count(*), sum(seq), sum(q), count(DISTINCT (worker, seq)) FROM (
	SELECT worker, seq, qty AS q FROM order_events WHERE instance = '$inst'
	UNION ALL SELECT worker, seq, qty FROM risk_events WHERE instance = '$inst'
	UNION ALL SELECT worker, seq, out_seq FROM session_events WHERE instance = '$inst'
	UNION ALL SELECT worker, seq, result FROM command_results WHERE instance = '$inst') x" | tr '|' ' ')
[ "$jn $jseq $jqty" = "$dn $dseq $dqty" ] || fail "journal count/sum(seq)/sum(qty) $jn $jseq $jqty, database $dn $dseq $dqty"
[ "$dkeys" = "$total" ] || fail "$dkeys distinct (worker, seq) in the database, expected $total"

# Each order applied once: cumulative quantities equal the fills (a batch applied twice would
# double them), and every order of the journal has its row.
fill_qty=$(awk '{ q += $4 } END { print q + 0 }' "$work/journal_fills.txt")
orders_j=$(awk '$3 == "new" { n++ } END { print n + 0 }' "$work/journal.txt")
read -r cum norders < <(sql "SELECT coalesce(sum(cum_qty), 0), count(*) FROM orders WHERE instance = '$inst'" | tr '|' ' ')
[ "$cum" = "$fill_qty" ] || fail "orders.cum_qty sums to $cum, fills to $fill_qty"
[ "$norders" -ge "$orders_j" ] || fail "$norders orders rows for $orders_j new orders"
bad=$(sql "SELECT count(*) FROM orders WHERE instance = '$inst' AND status = 'filled' AND (leaves <> 0 OR cum_qty <> qty)")
[ "$bad" = 0 ] || fail "$bad filled orders with leaves or cum_qty wrong"

# The orders projection against its definition over the whole of order_events: per order the
# latest event's columns and state, the latest venue reference that is not 0, the sum of its
# fills, its first event's time; 'replaced' with no leaves when a replace naming it (under
# another id) came after its latest event.
diffs=$(sql "WITH e AS (SELECT * FROM order_events WHERE instance = '$inst'),
	latest AS (SELECT DISTINCT ON (worker, order_id) * FROM e ORDER BY worker, order_id, seq DESC),
	agg AS (SELECT worker, order_id, min(wall_ns) AS created_ns,
		sum(CASE WHEN event_type = 'fill' THEN last_qty ELSE 0 END) AS cum_qty
		FROM e GROUP BY worker, order_id),
	vref AS (SELECT DISTINCT ON (worker, order_id) worker, order_id, venue_order_id FROM e
		WHERE venue_order_id <> 0 ORDER BY worker, order_id, seq DESC),
	repl AS (SELECT worker, orig_order_id AS order_id, max(seq) AS seq FROM e
		WHERE event_type = 'replace' AND orig_order_id <> 0 AND orig_order_id <> order_id
		GROUP BY 1, 2),
	want AS (SELECT l.instance, l.worker, l.order_id, l.orig_order_id,
		coalesce(v.venue_order_id, 0) AS venue_order_id, l.account_id, l.instrument_id,
		l.venue_id, l.strategy_id, l.side, l.price, l.qty,
		CASE WHEN r.seq > l.seq THEN 0 ELSE l.leaves END AS leaves, a.cum_qty,
		(CASE WHEN r.seq > l.seq THEN 'replaced' ELSE CASE l.event_type WHEN 'new' THEN
		'pending_new' WHEN 'ack' THEN 'open' WHEN 'replace' THEN 'open' WHEN 'reject' THEN
		'rejected' WHEN 'cancel' THEN 'canceled' ELSE CASE WHEN l.leaves = 0 THEN 'filled'
		ELSE 'partially_filled' END END END)::order_status AS status, l.reason,
		a.created_ns, l.wall_ns AS updated_ns, l.seq AS last_seq
		FROM latest l JOIN agg a USING (worker, order_id)
		LEFT JOIN vref v USING (worker, order_id) LEFT JOIN repl r USING (worker, order_id)),
	got AS (SELECT instance, worker, order_id, orig_order_id, venue_order_id, account_id,
		instrument_id, venue_id, strategy_id, side, price, qty, leaves, cum_qty, status, reason,
		created_ns, updated_ns, last_seq FROM orders WHERE instance = '$inst')
	SELECT (SELECT count(*) FROM (TABLE want EXCEPT TABLE got) x) || ' ' ||
		(SELECT count(*) FROM (TABLE got EXCEPT TABLE want) y) || ' ' ||
		(SELECT count(*) FROM got) || ' ' ||
		(SELECT count(*) FROM got WHERE status = 'replaced') || ' ' ||
		(SELECT count(*) FROM got WHERE status = 'rejected') || ' ' ||
		(SELECT count(*) FROM got WHERE status = 'canceled')")
read -r missing extra nrows nrepl nrej ncanc <<<"$diffs"
[ "$missing $extra" = "0 0" ] ||
	fail "orders differ from the journal's lifecycle: $missing rows expected but not found, $extra unexpected"
[ "$nrepl" -gt 0 ] && [ "$nrej" -gt 0 ] && [ "$ncanc" -gt 0 ] ||
	fail "the journal lacks a lifecycle: $nrepl replaced, $nrej rejected, $ncanc canceled"

# GET /orders/{id} finds an order's events by its row's born range (those not late) and the
# partial order index (the late ones). For every order, what that finds must be all of its events:
# per order, the seqs found that way against the seqs of a whole-table grouping.
events_by_order_lost() {
	sql "WITH whole AS (SELECT worker, order_id, array_agg(seq ORDER BY seq) AS a
			FROM order_events WHERE instance = '$1' GROUP BY 1, 2),
		found AS (SELECT x.worker, x.order_id, (SELECT array_agg(seq ORDER BY seq) FROM (
			SELECT seq FROM order_events ev WHERE ev.seq BETWEEN x.born_seq AND
				x.born_last_seq AND ev.worker = x.worker AND ev.instance = x.instance
				AND ev.order_id = x.order_id AND NOT ev.late
			UNION ALL SELECT seq FROM order_events ev WHERE ev.late AND
				ev.order_id = x.order_id AND ev.worker = x.worker AND
				ev.instance = x.instance) e) AS a
			FROM orders x WHERE instance = '$1')
		SELECT count(*) FROM whole FULL JOIN found USING (worker, order_id)
		WHERE whole.a IS DISTINCT FROM found.a AND whole.a IS NOT NULL"
}
lost=$(events_by_order_lost "$inst")
[ "$lost" = 0 ] || fail "$lost orders whose events the born range and the order index do not all find"
read -r nlate nev < <(sql "SELECT count(*) FILTER (WHERE late), count(*) FROM order_events
	WHERE instance = '$inst'" | tr '|' ' ')
[ "$nlate" -gt 0 ] && [ "$nlate" -lt "$nev" ] ||
	fail "$nlate of $nev order events in the order index: expected some, not all"

# Order ids reused under an instance name (another dataplane, a database restored over a newer
# one): the orders a batch creates already have rows. Their direct COPY into orders fails on the
# key, is undone, and they are merged instead: one row per order, its fills added to the old row.
inst2="${inst}r" jdir2=$work/journal2 n2=4000
mkdir "$jdir2"
"$gen" write "$jdir2" "$inst2" 1 "$n2" 100000 >>"$work/writer.log" 2>&1 || fail "the second writer failed"
"$gen" dump "$jdir2" "$inst2" 1 >"$work/journal2.txt"
"$gen" fills "$jdir2" "$inst2" 1 >"$work/journal2_fills.txt"
reused=$(awk '$3 == "new" { print $4; exit }' "$work/journal2.txt")
[ -n "$reused" ] || fail "the second journal has no new order"
sql "INSERT INTO orders (instance, worker, order_id, orig_order_id, venue_order_id, account_id,
	instrument_id, venue_id, strategy_id, side, price, qty, leaves, cum_qty, status, reason,
	created_ns, updated_ns, last_seq) VALUES ('$inst2', 0, $reused, 0, 0, 0, 0, 0, 0, 'B', 1, 1,
	0, 1000, 'filled', 0, 1, 1, 0)"
"$cp" persist --database "$db" --journal-dir "$jdir2" --instance "$inst2" --batch 1000 \
	>>"$work/persist2.log" 2>&1 &
ppid=$!
for _ in $(seq 1 300); do
	done2=$(sql "SELECT coalesce(sum(last_seq), 0) FROM journal_checkpoints WHERE instance = '$inst2'")
	[ "$done2" = "$n2" ] && break
	kill -0 "$ppid" 2>/dev/null || break
	sleep 0.1
done
kill -TERM "$ppid" 2>/dev/null || true
wait "$ppid" || true
ppid=
[ "$done2" = "$n2" ] || fail "ids reused: checkpoints reached $done2 of $n2: $(tail -n 5 "$work/persist2.log")"
grep -q "already have rows" "$work/persist2.log" || fail "ids reused: the persister did not report the conflict"
orders2=$(awk '$3 == "new" { n++ } END { print n + 0 }' "$work/journal2.txt")
fills2=$(awk '{ q += $4 } END { print q + 0 }' "$work/journal2_fills.txt")
reused_fills=$(awk -v id="$reused" '$3 == id { q += $4 } END { print q + 0 }' "$work/journal2_fills.txt")
read -r rows2 distinct2 cum2 < <(sql "SELECT count(*), count(DISTINCT order_id), sum(cum_qty) FROM orders
	WHERE instance = '$inst2'" | tr '|' ' ')
[ "$rows2" = "$distinct2" ] || fail "ids reused: $rows2 orders rows for $distinct2 orders"
[ "$rows2" -ge "$orders2" ] || fail "ids reused: $rows2 orders rows for $orders2 new orders"
[ "$cum2" = "$((fills2 + 1000))" ] || fail "ids reused: cum_qty sums to $cum2, fills $fills2 + 1000"
[ "$(sql "SELECT cum_qty FROM orders WHERE instance = '$inst2' AND order_id = $reused")" = \
	"$((reused_fills + 1000))" ] || fail "ids reused: order $reused did not add its fills to its old row"
lost=$(events_by_order_lost "$inst2")
[ "$lost" = 0 ] || fail "ids reused: $lost orders whose events the born range and the order index do not all find"

echo "PASS: $total records over 2 workers, exact after $kills persister kills, 1 writer kill," \
	"1 PostgreSQL crash, $restarts persister exits restarted; $nrows orders rows equal to" \
	"their lifecycle ($nrepl replaced, $nrej rejected, $ncanc canceled), every order's events" \
	"found by its born range and the order index ($nlate of $nev events in it); reused order ids merged"
