-- Keys that put the fixed-width columns first. A B-tree key that starts with the text instance
-- compares strings at every level of every descent and cannot cache the offsets of the columns
-- after it: with (instance, worker, seq) and (instance, worker, order_id), the persister's
-- server spent most of its COPY time in index comparisons. The same columns in another order
-- keep every guarantee: order_events' key still proves that no record was loaded twice, the
-- orders key still has one row per order (the persister's ON CONFLICT names the same columns).
--   order_events: (worker, seq, instance), appends at the right end of each worker's range;
--     the events of an order (GET /orders/{id}) by (order_id, worker).
--   orders: (order_id, worker, instance), so an order found by its id alone (the API's
--     /orders/{id} and cancel) is still a prefix lookup.

ALTER TABLE order_events DROP CONSTRAINT order_events_pkey,
	ADD CONSTRAINT order_events_pkey PRIMARY KEY (worker, seq, instance);
DROP INDEX order_events_order_idx;
CREATE INDEX order_events_order_idx ON order_events (order_id, worker);

ALTER TABLE orders DROP CONSTRAINT orders_pkey,
	ADD CONSTRAINT orders_pkey PRIMARY KEY (order_id, worker, instance);
