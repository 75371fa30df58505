-- Protocol 2.1 bounds stamps: a server refuses one more than its skew ahead of its clock.
-- Stamps stored before then may lie in the far future (a tablet whose clock said 9999) and
-- would beat every later edit of their fields: bring each beyond this migration's time
-- down to it, so the next honest edit wins. Values stay as they are; the audit log keeps
-- the original stamps.
UPDATE records SET clocks = (
    SELECT json_group_object(j.key, CASE
        WHEN json_extract(j.value, '$.ms') > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
        THEN json_set(j.value, '$.ms', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ELSE json(j.value) END)
    FROM json_each(records.clocks) AS j)
WHERE EXISTS (
    SELECT 1 FROM json_each(records.clocks) AS j
    WHERE json_extract(j.value, '$.ms') > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
