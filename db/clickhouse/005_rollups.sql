-- Hourly and daily rollups of events per (project_id, bucket, name), kept as aggregate
-- states: read them with countMerge(events), uniqMerge(devices), uniqMerge(sessions) and
-- GROUP BY, never by summing finished numbers (uniq values cannot be added up).
-- Events without a device or session id ('' ) are not counted as one.
--
-- Retries: the writer inserts with insert_deduplication_token and
-- deduplicate_blocks_in_dependent_materialized_views = 1, so the views run again on a retried
-- insert and each target checks the derived block id itself. That needs the rollup tables
-- to keep a deduplication window of their own; without it a retried batch is counted twice
-- here even though events dropped it (checked in server/store/clickhouse.int.test.ts).
CREATE TABLE IF NOT EXISTS {database}.events_hourly
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (project_id, bucket, name)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_hourly_mv TO {database}.events_hourly AS
SELECT
    project_id,
    toStartOfHour(created_at) AS bucket,
    name,
    countState() AS events,
    uniqStateIf(device_id, device_id != '') AS devices,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM {database}.events
GROUP BY project_id, bucket, name;

CREATE TABLE IF NOT EXISTS {database}.events_daily
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, bucket, name)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_daily_mv TO {database}.events_daily AS
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    name,
    countState() AS events,
    uniqStateIf(device_id, device_id != '') AS devices,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM {database}.events
GROUP BY project_id, bucket, name;
