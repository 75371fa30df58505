-- A push checks its mutations against its blocks' context (every record but score cells)
-- and asks for each block's context version (its highest sequence); without this index both
-- walk every cell of the block.
CREATE INDEX records_block_context ON records (block_id, seq) WHERE kind <> 'score_cell';
