-- A ballot's papers in one box per ballot, kept in a canonical (sorted) order: no row, row
-- order or key per paper that could be lined up with the receipts written in the same
-- transaction. Replaces `votes` (one row per paper).
CREATE TABLE ballot_boxes (
    ballot_id TEXT PRIMARY KEY,
    papers TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO ballot_boxes (ballot_id, papers)
    SELECT ballot_id, json_group_array(json(paper) ORDER BY paper) FROM votes GROUP BY ballot_id;
DROP TABLE votes;
