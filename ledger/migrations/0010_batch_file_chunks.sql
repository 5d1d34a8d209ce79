-- Batch input files in chunks: an upload is stored as it streams in (a row per chunk of at most about
-- 256 KiB of text, cut between characters) and read back a few chunks at a time, so neither the gateway
-- nor a worker ever holds a whole file. A file is visible once its batch_files row exists; the row is
-- written after its last chunk. Files stored before (content in batch_files) are moved into chunks here.
CREATE TABLE batch_file_chunks (
  file_id text NOT NULL,
  n integer NOT NULL CHECK (n >= 0),
  content text NOT NULL,
  PRIMARY KEY (file_id, n)
);

INSERT INTO batch_file_chunks (file_id, n, content)
SELECT f.id, s.n, substr(f.content, s.n * 262144 + 1, 262144)
  FROM batch_files f
 CROSS JOIN LATERAL generate_series(0, GREATEST((length(f.content) + 262143) / 262144 - 1, 0)) AS s(n)
 WHERE f.content IS NOT NULL;

-- dropping the column drops the check that tied it to kind = 'input'
ALTER TABLE batch_files DROP COLUMN content;

-- Validation's progress while a batch validates, written in the same statement as each page of items:
-- an attempt cut off (its activity timed out on a very large file) is resumed by the next from its last
-- page, with the problems, models and worst case found so far. Deleted once validation has ended.
CREATE TABLE batch_validation (
  batch_id text PRIMARY KEY REFERENCES batches (id),
  next_line integer NOT NULL CHECK (next_line >= 1),
  total integer NOT NULL CHECK (total >= 0),
  errors jsonb NOT NULL,
  bad_ids text[] NOT NULL,
  models text[] NOT NULL,
  worst_nanos bigint NOT NULL CHECK (worst_nanos >= 0)
);
