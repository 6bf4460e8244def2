-- Responses remembered per caller and Idempotency-Key, so that a retried POST
-- (same key, same request) gets the first answer instead of acting twice.
-- A row with a NULL status is a request still in flight.
CREATE TABLE idempotency_keys (
    caller       TEXT NOT NULL CHECK (char_length(caller) BETWEEN 1 AND 100),
    key          TEXT NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    fingerprint  BYTEA NOT NULL CHECK (octet_length(fingerprint) = 32),
    status       SMALLINT NULL CHECK (status BETWEEN 100 AND 599),
    content_type TEXT NULL,
    location     TEXT NULL,
    etag         TEXT NULL,
    body         BYTEA NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
