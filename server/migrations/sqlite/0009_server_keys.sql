-- The server's own key pairs, made on first use and shared by every server process on the
-- database: `paper` (ECDH P-256) decrypts the ballot papers a changes file carries, which
-- the device encrypted to its public half so the carrier cannot read them.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    public_key TEXT NOT NULL
);
