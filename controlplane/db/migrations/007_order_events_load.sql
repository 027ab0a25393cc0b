-- Two changes to order_events that make loading it cheaper, found by A/B runs of
-- `tradsys-bench persist` (TUNING.md section 7):
--   event_time goes. It was a stored generated column, to_timestamp(wall_ns / 1e9) computed for
--     every row as the persister loaded it: about a tenth of the load's server time. Nothing of
--     ours read it; a reader that wants a timestamp writes to_timestamp(wall_ns / 1e9), and
--     time ranges keep using the BRIN index on wall_ns.
--   The key becomes (seq, worker, instance). With the worker first, every worker but the
--     highest-numbered inserts in the middle of the index, so each of its rows descends the tree
--     from the root; with seq first, all workers append at the right end, where PostgreSQL's
--     B-tree takes its fast path (no descent) for a key above the rightmost leaf's first one.
--     The key still proves that no record was loaded twice, and a record is still found through
--     it by its (worker, seq).

ALTER TABLE order_events DROP COLUMN event_time;

ALTER TABLE order_events DROP CONSTRAINT order_events_pkey,
	ADD CONSTRAINT order_events_pkey PRIMARY KEY (seq, worker, instance);
