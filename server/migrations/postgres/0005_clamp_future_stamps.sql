-- Protocol 2.1 bounds stamps: a server refuses one more than its skew ahead of its clock.
-- Stamps stored before then may lie in the far future (a tablet whose clock said 9999) and
-- would beat every later edit of their fields: bring each beyond this migration's time
-- down to it, so the next honest edit wins. Values stay as they are; the audit log keeps
-- the original stamps.
UPDATE records AS r SET clocks = (
    SELECT jsonb_object_agg(j.key, CASE
        WHEN (j.value->>'ms')::numeric > floor(extract(epoch FROM now()) * 1000)
        THEN jsonb_set(j.value, '{ms}', to_jsonb(floor(extract(epoch FROM now()) * 1000)::bigint))
        ELSE j.value END)
    FROM jsonb_each(r.clocks) AS j)
WHERE EXISTS (
    SELECT 1 FROM jsonb_each(r.clocks) AS j
    WHERE (j.value->>'ms')::numeric > floor(extract(epoch FROM now()) * 1000));
