-- Each device's public keys (hex DER SubjectPublicKeyInfo, ECDSA P-256), registered when it
-- signs in or joins: they verify the changes files it signs. Only public keys: a copy of the
-- database lets nobody sign a file.
CREATE TABLE device_keys (
    device_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, public_key)
);
