-- Deleted records stay as tombstones so the deletion syncs.
ALTER TABLE records ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;

-- Who did it, the operation, the block (for the secretary's view) and a correction's reason.
ALTER TABLE audit_log ADD COLUMN account_id TEXT;
ALTER TABLE audit_log ADD COLUMN block_id TEXT;
ALTER TABLE audit_log ADD COLUMN reason TEXT;
CREATE INDEX audit_log_block ON audit_log (block_id, id);

-- Ids in the account tables are text, so the same SQL serves both backends.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT NOT NULL
);

-- One role per account and block (a block is one year).
CREATE TABLE grants (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    block_id TEXT NOT NULL,
    role TEXT NOT NULL,
    unit_id TEXT,
    PRIMARY KEY (account_id, block_id)
);

-- Device tokens, stored as SHA-256 of the random token.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    device_id TEXT NOT NULL,
    device_name TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_used_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX tokens_account ON tokens (account_id);

-- One-time join codes, stored as SHA-256 of the normalised code.
CREATE TABLE join_codes (
    code_hash TEXT PRIMARY KEY,
    block_id TEXT NOT NULL,
    role TEXT NOT NULL,
    unit_id TEXT,
    created_by TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);

-- Secret ballot papers: no voter, no time, a random key. Receipts are written in the same
-- transaction but nothing joins the two.
CREATE TABLE votes (
    id TEXT PRIMARY KEY,
    ballot_id TEXT NOT NULL,
    paper TEXT NOT NULL
);
CREATE INDEX votes_ballot ON votes (ballot_id);

-- That a voter voted: no paper. The key makes a second vote impossible whatever the race.
CREATE TABLE receipts (
    ballot_id TEXT NOT NULL,
    voter TEXT NOT NULL,
    PRIMARY KEY (ballot_id, voter)
);
