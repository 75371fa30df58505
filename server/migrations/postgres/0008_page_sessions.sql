-- Page sessions: what an HttpOnly cookie carries to open server pages, documents and the
-- live event stream, so a device token never travels in an address. Each belongs to a
-- device token and dies with it (sign-out, revocation, expiry); only its hash is stored.
CREATE TABLE page_sessions (
    session_hash TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX page_sessions_token ON page_sessions (token_hash);
