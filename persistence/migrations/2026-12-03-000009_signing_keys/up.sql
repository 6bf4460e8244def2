-- The service's signing keys (API.md "Keys"), shared by every instance: one
-- current key per purpose (access tokens, decision documents); retired keys stay
-- listed in the JWK set until what they signed has expired. The private half is
-- here so that every replica signs and verifies alike: access to this table is
-- access to the keys.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY CHECK (char_length(kid) BETWEEN 8 AND 64),
    purpose     TEXT NOT NULL CHECK (purpose IN ('access', 'decision')),
    private_pem TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    retired_at  TIMESTAMPTZ NULL CHECK (retired_at IS NULL OR retired_at >= created_at)
);
CREATE UNIQUE INDEX signing_keys_one_current_idx ON signing_keys (purpose)
    WHERE retired_at IS NULL;
