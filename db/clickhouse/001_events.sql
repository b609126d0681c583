-- events: one row per accepted event (shared/rows.ts EventRow, same column names).
-- Ordered for per-project time scans; the month partition keeps merges and drops cheap.
-- non_replicated_deduplication_window keeps the last 1000 block ids per table so an insert
-- retried with the same insert_deduplication_token is dropped (no replication needed).
CREATE TABLE IF NOT EXISTS {database}.events
(
    id UUID,
    project_id LowCardinality(String),
    name LowCardinality(String),
    device_id String,
    profile_id String,
    session_id String,
    created_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    path String CODEC(ZSTD(1)),
    origin LowCardinality(String),
    title String CODEC(ZSTD(1)),
    referrer String CODEC(ZSTD(1)),
    referrer_name LowCardinality(String),
    referrer_type LowCardinality(String),
    utm_source LowCardinality(String),
    utm_medium LowCardinality(String),
    utm_campaign LowCardinality(String),
    utm_term String,
    utm_content String,
    revenue UInt64,
    duration UInt64,
    properties Map(String, String) CODEC(ZSTD(1)),
    groups Array(String),
    country LowCardinality(String),
    region LowCardinality(String),
    city String,
    latitude Nullable(Float64),
    longitude Nullable(Float64),
    os LowCardinality(String),
    os_version LowCardinality(String),
    browser LowCardinality(String),
    browser_version LowCardinality(String),
    device LowCardinality(String),
    brand LowCardinality(String),
    model LowCardinality(String),
    sdk_name LowCardinality(String),
    sdk_version LowCardinality(String),
    INDEX idx_name name TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_path path TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_property_keys mapKeys(properties) TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (project_id, toDate(created_at), name, created_at)
SETTINGS non_replicated_deduplication_window = 1000;
