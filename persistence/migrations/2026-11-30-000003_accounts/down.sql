DROP TABLE outbox;
DROP TABLE password_reset_tokens;
DROP TABLE refresh_tokens;
DROP TABLE accounts;
DROP TABLE schools;
