-- A push reads its blocks' structure (every record but score sheets and cells) and its
-- version (the structure's highest sequence); the sheets it needs are read by id or by
-- scorer. Without this index the version walks every sheet of the block.
CREATE INDEX records_block_structure ON records (block_id, seq)
    WHERE kind NOT IN ('score_cell', 'score_sheet');

-- A new sheet is checked against its scorer's other sheets in the round; a block's sheets
-- are read whole only for a change to its structure. Without this index both walk every
-- cell of the block.
CREATE INDEX records_scorer_sheets ON records
    (block_id, json_extract(body, '$.round_id'), json_extract(body, '$.scorer'))
    WHERE kind = 'score_sheet';
