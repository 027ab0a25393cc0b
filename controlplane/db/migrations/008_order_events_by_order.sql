-- order_events_order_idx (order_id, worker) cost the persister about a fifth of its load rate
-- (TUNING.md section 7): one B-tree insert at a random place per event. Most of an order's
-- events reach the persister in the same batch as its new-order event, a few records after it,
-- so they need no index entry to be found again: the order's row keeps the seq range they lie
-- in, and the index keeps only the others.
--   order_events.late: true when the event is in the order index, false when it lies in its
--     order's range orders.born_seq .. born_last_seq (same worker): the persister sets it false
--     for the new-order event and the events after it in the same batch within 4096 records
--     (DB_BORN_SPAN), true for every other event and in doubt. Rows loaded before this
--     migration take true, so they stay in the index as before.
--   orders.born_seq, born_last_seq: that range (0, 0 for none), set when the row is made and
--     never changed by later batches.
-- An order's events are then: those of its worker in its range with late false (a scan of the
-- primary key over at most 4096 records per worker), and those the index has for it.
-- GET /orders/{id} reads them that way.

ALTER TABLE order_events ADD COLUMN late boolean NOT NULL DEFAULT true;

ALTER TABLE orders ADD COLUMN born_seq bigint NOT NULL DEFAULT 0,
	ADD COLUMN born_last_seq bigint NOT NULL DEFAULT 0;

DROP INDEX order_events_order_idx;
CREATE INDEX order_events_order_idx ON order_events (order_id, worker) WHERE late;
