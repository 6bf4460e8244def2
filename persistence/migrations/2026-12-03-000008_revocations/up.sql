-- Access-token revocation (API.md "Sign-in abuse"): an access token carries its
-- session (the refresh-token family) and is refused once that family is revoked.
-- Instances keep the families revoked within an access token's lifetime in
-- memory, load them by this index and hear of new ones by NOTIFY.
CREATE INDEX refresh_tokens_revoked_at_idx ON refresh_tokens (revoked_at)
    WHERE revoked_at IS NOT NULL;
