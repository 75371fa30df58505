-- A mutation id is the idempotency key of one device's change: its digest (SHA-256 of the
-- mutation as sent) lets a retry answer `duplicate` only when it is the same change from the
-- same device; the same id with other content, or from another device, is a conflict.
-- Rows from before this column have none and compare by device alone.
ALTER TABLE mutations ADD COLUMN digest TEXT;
