-- Records as they stand, one row each; seq is the server sequence of the last change.
CREATE TABLE records (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    block_id TEXT,
    body TEXT NOT NULL,
    clocks TEXT NOT NULL DEFAULT '{}',
    seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX records_block_seq ON records (block_id, seq);

-- One row per applied mutation: the idempotency key.
CREATE TABLE mutations (
    id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    received_ms INTEGER NOT NULL
);

-- Append-only history of every applied mutation.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    won INTEGER NOT NULL,
    client_hlc TEXT NOT NULL,
    server_ms INTEGER NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The server sequence.
CREATE TABLE counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('seq', 0);
