-- quarantine: rows ClickHouse refused for their content, isolated by the writer's split of a
-- refused insert (server/store/insert-split.ts), kept with the error so an operator can list,
-- replay or drop them (`npm run admin -- quarantine …`). `row` is the row as JSON text.
-- ReplacingMergeTree by id: the id is derived from the insert token that isolated the row, so
-- quarantining it again after a crash replaces the entry; read with FINAL.
CREATE TABLE IF NOT EXISTS {database}.quarantine
(
    id String,
    quarantined_at DateTime64(3, 'UTC'),
    project_id String,
    kind LowCardinality(String),
    token String,
    error_code LowCardinality(String),
    error String,
    row String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;
