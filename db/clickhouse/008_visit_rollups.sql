-- Visit rollups: what the overview's cards, series and breakdowns by a visit attribute read
-- instead of scanning session starts and `sessions FINAL` (server/stats/compile.ts picks them
-- when the range is whole UTC days — or hours for the totals — and there are no filters).
--
-- visits_daily: visits that started per (project, UTC day, dimension, value), from the
-- `session_start` events (every visit has one, open or ended, carrying its attributes): a
-- count and the devices as a uniq state, so visitors and visits by source, entry page,
-- campaign, place or device read a few thousand rows instead of every session start.
-- `dimension` is the query model's name (server/stats/dimensions.ts); the list below and
-- VISIT_ROLLUP_DIMENSIONS in compile.ts must agree (rollups.int.test.ts checks every one).
--
-- sessions_daily / sessions_hourly: ended visits per (project, UTC day or hour of their start,
-- dimension, value) — visits, bounces, total duration and page views as plain sums — for
-- bounce rate, visit duration and views per visit without `sessions FINAL`. The `''`
-- dimension holds the totals; the hourly table keeps only them. Each visit is closed once
-- (README "Sessions"), and a retried insert is dropped here as in `sessions` (own
-- deduplication window, as in 005_rollups.sql). The `sessions` table additionally replaces a
-- second close of the same visit; these sums would count such a row twice.
CREATE TABLE IF NOT EXISTS {database}.visits_daily
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    dimension LowCardinality(String),
    value String,
    visits SimpleAggregateFunction(sum, UInt64),
    devices AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, dimension, bucket, value)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.visits_daily_mv TO {database}.visits_daily AS
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    kv.1 AS dimension,
    kv.2 AS value,
    count() AS visits,
    uniqStateIf(device_id, device_id != '') AS devices
FROM {database}.events
ARRAY JOIN [
    ('session:entry_path', path),
    ('session:referrer', referrer),
    ('session:referrer_name', CAST(referrer_name AS String)),
    ('session:referrer_type', CAST(referrer_type AS String)),
    ('session:utm_source', CAST(utm_source AS String)),
    ('session:utm_medium', CAST(utm_medium AS String)),
    ('session:utm_campaign', CAST(utm_campaign AS String)),
    ('session:utm_term', utm_term),
    ('session:utm_content', utm_content),
    ('geo:country', CAST(country AS String)),
    ('geo:region', CAST(region AS String)),
    ('geo:city', city),
    ('device:type', CAST(device AS String)),
    ('device:browser', CAST(browser AS String)),
    ('device:browser_version', CAST(browser_version AS String)),
    ('device:os', CAST(os AS String)),
    ('device:os_version', CAST(os_version AS String)),
    ('device:brand', CAST(brand AS String)),
    ('device:model', CAST(model AS String))
] AS kv
WHERE name = 'session_start'
GROUP BY project_id, bucket, dimension, value;

CREATE TABLE IF NOT EXISTS {database}.sessions_daily
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    dimension LowCardinality(String),
    value String,
    sessions SimpleAggregateFunction(sum, UInt64),
    bounces SimpleAggregateFunction(sum, UInt64),
    duration SimpleAggregateFunction(sum, UInt64),
    screen_views SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, dimension, bucket, value)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sessions_daily_mv TO {database}.sessions_daily AS
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    kv.1 AS dimension,
    kv.2 AS value,
    count() AS sessions,
    sum(is_bounce) AS bounces,
    sum(duration) AS duration,
    sum(screen_view_count) AS screen_views
FROM {database}.sessions
ARRAY JOIN [
    ('', ''),
    ('session:entry_path', entry_path),
    ('session:exit_path', exit_path),
    ('session:referrer', referrer),
    ('session:referrer_name', CAST(referrer_name AS String)),
    ('session:referrer_type', CAST(referrer_type AS String)),
    ('session:utm_source', CAST(utm_source AS String)),
    ('session:utm_medium', CAST(utm_medium AS String)),
    ('session:utm_campaign', CAST(utm_campaign AS String)),
    ('session:utm_term', utm_term),
    ('session:utm_content', utm_content),
    ('geo:country', CAST(country AS String)),
    ('geo:region', CAST(region AS String)),
    ('geo:city', city),
    ('device:type', CAST(device AS String)),
    ('device:browser', CAST(browser AS String)),
    ('device:browser_version', CAST(browser_version AS String)),
    ('device:os', CAST(os AS String)),
    ('device:os_version', CAST(os_version AS String)),
    ('device:brand', CAST(brand AS String)),
    ('device:model', CAST(model AS String))
] AS kv
GROUP BY project_id, bucket, dimension, value;

CREATE TABLE IF NOT EXISTS {database}.sessions_hourly
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    dimension LowCardinality(String),
    value String,
    sessions SimpleAggregateFunction(sum, UInt64),
    bounces SimpleAggregateFunction(sum, UInt64),
    duration SimpleAggregateFunction(sum, UInt64),
    screen_views SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (project_id, dimension, bucket, value)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sessions_hourly_mv TO {database}.sessions_hourly AS
SELECT
    project_id,
    toStartOfHour(created_at) AS bucket,
    '' AS dimension,
    '' AS value,
    count() AS sessions,
    sum(is_bounce) AS bounces,
    sum(duration) AS duration,
    sum(screen_view_count) AS screen_views
FROM {database}.sessions
GROUP BY project_id, bucket;

-- Existing installs: fill all three from what is stored, as 007_page_rollups.sql does (run
-- before writers start; truncating first makes a re-run after an interruption exact). Stored
-- sessions are read FINAL: a visit closed twice before the upgrade counts once.
TRUNCATE TABLE {database}.visits_daily;

INSERT INTO {database}.visits_daily
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    kv.1 AS dimension,
    kv.2 AS value,
    count() AS visits,
    uniqStateIf(device_id, device_id != '') AS devices
FROM {database}.events
ARRAY JOIN [
    ('session:entry_path', path),
    ('session:referrer', referrer),
    ('session:referrer_name', CAST(referrer_name AS String)),
    ('session:referrer_type', CAST(referrer_type AS String)),
    ('session:utm_source', CAST(utm_source AS String)),
    ('session:utm_medium', CAST(utm_medium AS String)),
    ('session:utm_campaign', CAST(utm_campaign AS String)),
    ('session:utm_term', utm_term),
    ('session:utm_content', utm_content),
    ('geo:country', CAST(country AS String)),
    ('geo:region', CAST(region AS String)),
    ('geo:city', city),
    ('device:type', CAST(device AS String)),
    ('device:browser', CAST(browser AS String)),
    ('device:browser_version', CAST(browser_version AS String)),
    ('device:os', CAST(os AS String)),
    ('device:os_version', CAST(os_version AS String)),
    ('device:brand', CAST(brand AS String)),
    ('device:model', CAST(model AS String))
] AS kv
WHERE name = 'session_start'
GROUP BY project_id, bucket, dimension, value;

TRUNCATE TABLE {database}.sessions_daily;

INSERT INTO {database}.sessions_daily
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    kv.1 AS dimension,
    kv.2 AS value,
    count() AS sessions,
    sum(is_bounce) AS bounces,
    sum(duration) AS duration,
    sum(screen_view_count) AS screen_views
FROM {database}.sessions FINAL
ARRAY JOIN [
    ('', ''),
    ('session:entry_path', entry_path),
    ('session:exit_path', exit_path),
    ('session:referrer', referrer),
    ('session:referrer_name', CAST(referrer_name AS String)),
    ('session:referrer_type', CAST(referrer_type AS String)),
    ('session:utm_source', CAST(utm_source AS String)),
    ('session:utm_medium', CAST(utm_medium AS String)),
    ('session:utm_campaign', CAST(utm_campaign AS String)),
    ('session:utm_term', utm_term),
    ('session:utm_content', utm_content),
    ('geo:country', CAST(country AS String)),
    ('geo:region', CAST(region AS String)),
    ('geo:city', city),
    ('device:type', CAST(device AS String)),
    ('device:browser', CAST(browser AS String)),
    ('device:browser_version', CAST(browser_version AS String)),
    ('device:os', CAST(os AS String)),
    ('device:os_version', CAST(os_version AS String)),
    ('device:brand', CAST(brand AS String)),
    ('device:model', CAST(model AS String))
] AS kv
GROUP BY project_id, bucket, dimension, value;

TRUNCATE TABLE {database}.sessions_hourly;

INSERT INTO {database}.sessions_hourly
SELECT
    project_id,
    toStartOfHour(created_at) AS bucket,
    '' AS dimension,
    '' AS value,
    count() AS sessions,
    sum(is_bounce) AS bounces,
    sum(duration) AS duration,
    sum(screen_view_count) AS screen_views
FROM {database}.sessions FINAL
GROUP BY project_id, bucket;
