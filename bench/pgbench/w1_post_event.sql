-- W1  POST /events with 3 property records: one event per transaction (PostgreSQL's own rate).
-- Mirrors events_api.events.repository.insert_events + insert_records, as events.writer runs
-- them for a batch of one event: INSERT ... ON CONFLICT DO NOTHING RETURNING, then the records
-- in one statement, then COMMIT. The API may commit many requests together (group commit);
-- this script deliberately does not, it is the single-transaction reference.
-- Run with -M prepared. Variables from bench/run.py (-D): run (12 hex digits, unique per run),
-- n=0 and clients (=-c) for unique ids, type_prefix, customer_prefix.
\if :n = 0
\set n 10000000000000 + :client_id
\endif
\set n :n + :clients
\set t random(10, 29)
\set c random(100000, 199999)
\set v random(0, 65535)
BEGIN;
INSERT INTO events (event_id, event_type_id, customer_id, external_id, secondary_external_id, data, created_at, state)
  VALUES (:run::text || :n::text, :type_prefix::text || :t::text, :customer_prefix::text || :c::text,
          'pgbench-' || :run::text || :n::text, NULL, '{"channel": "web", "value": 42}', LOCALTIMESTAMP(0), 1)
  ON CONFLICT DO NOTHING RETURNING events.event_id;
INSERT INTO event_property_records (event_id, property_id, position, property_value, last_change)
  VALUES (:run::text || :n::text, 'bench_note', 0, '"note 42"', LOCALTIMESTAMP(0)),
         (:run::text || :n::text, 'bench_quantity', 1, :v::text::json, LOCALTIMESTAMP(0)),
         (:run::text || :n::text, 'bench_flag', 2, 'true', LOCALTIMESTAMP(0));
COMMIT;
