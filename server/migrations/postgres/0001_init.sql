-- Records as they stand, one row each; seq is the server sequence of the last change.
CREATE TABLE records (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    block_id UUID,
    body JSONB NOT NULL,
    clocks JSONB NOT NULL DEFAULT '{}',
    seq BIGINT NOT NULL UNIQUE
);
CREATE INDEX records_block_seq ON records (block_id, seq);

-- One row per applied mutation: the idempotency key.
CREATE TABLE mutations (
    id UUID PRIMARY KEY,
    device_id UUID NOT NULL,
    record_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    received_ms BIGINT NOT NULL
);

-- Append-only history of every applied mutation.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    mutation_id UUID NOT NULL,
    device_id UUID NOT NULL,
    record_id UUID NOT NULL,
    field TEXT NOT NULL,
    old_value JSONB NOT NULL,
    new_value JSONB NOT NULL,
    won BOOLEAN NOT NULL,
    client_hlc JSONB NOT NULL,
    server_ms BIGINT NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- The server sequence; its row lock orders concurrent pushes, so a pull never skips a
-- sequence that commits late.
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters (name, value) VALUES ('seq', 0);
