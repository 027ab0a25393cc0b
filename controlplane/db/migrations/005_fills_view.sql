-- Fills become a view over order_events (the order events of type fill), so the persister writes
-- each fill once instead of twice: the fills table held the same columns of the same journal
-- record, copied in the same transaction. price and qty of a fill are the event's last_px and
-- last_qty. The view keeps every column and the name of the table, so readers (run-demo, reports,
-- ad hoc queries) read it as before.
--
-- Before the table goes, every one of its rows must have its fill event with the same numbers;
-- otherwise this migration fails and changes nothing (a row written by hand, not the persister).

DO $$
DECLARE
	missing bigint;
BEGIN
	SELECT count(*) INTO missing FROM fills f
	WHERE NOT EXISTS (SELECT 1 FROM order_events e
		WHERE e.instance = f.instance AND e.worker = f.worker AND e.seq = f.seq
			AND e.event_type = 'fill' AND e.order_id = f.order_id
			AND e.last_px = f.price AND e.last_qty = f.qty);
	IF missing > 0 THEN
		RAISE EXCEPTION '% fills rows have no equal fill in order_events: move them first',
			missing;
	END IF;
END;
$$;

DROP TABLE fills;

CREATE VIEW fills AS
	SELECT instance, worker, seq, wall_ns, order_id, venue_order_id, match_no, account_id,
		instrument_id, venue_id, side, last_px AS price, last_qty AS qty, liquidity
	FROM order_events
	WHERE event_type = 'fill';
