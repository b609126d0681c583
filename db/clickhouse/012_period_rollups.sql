-- Weekly and monthly rollups in one table per family: `events_periods`, `pages_periods` and
-- `visits_periods` hold the rows of 010_weekly_monthly_rollups.sql with a `period` column
-- ('week' or 'month') first in their key, fed by one view each from the daily table (an
-- ARRAY JOIN over the two buckets of each daily row). `events_weekly`, `events_monthly` and the
-- others stay as plain views over them for reading by hand; the query model reads the tables
-- themselves (server/stats/granules.ts: through a view a statement cost 2–4 ms more CPU).
--
-- Why: every insert into `events` writes a part (a folder of ~12 files) into every table its
-- views feed, and a view costs its own plan and pipeline per insert. Six weekly and monthly
-- tables become three: 3 parts and 3 view pipelines fewer per insert (docs/benchmarks.md,
-- "Where an insert's fixed cost goes").
--
-- Exactly once: the writer's deduplicate_blocks_in_dependent_materialized_views = 1 reaches
-- these views as it did the weekly and monthly ones; each table keeps its own deduplication
-- window, as in 005_rollups.sql.
--
-- Existing installs: filled from the daily tables (exact: a week's or month's state is the
-- union of its days' states), as 010 did. Every step can run again after an interruption: the
-- old views are dropped first, the new tables truncated before they are filled, the old tables
-- dropped (or, on a re-run, the views already standing in for them) before the views replacing
-- them are created. Migrations run before writers start (007_page_rollups.sql).

-- events
CREATE TABLE IF NOT EXISTS {database}.events_periods
(
    project_id LowCardinality(String),
    period Enum8('week' = 1, 'month' = 2),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, period, name, bucket)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

DROP VIEW IF EXISTS {database}.events_weekly_mv;

DROP VIEW IF EXISTS {database}.events_monthly_mv;

DROP VIEW IF EXISTS {database}.events_periods_mv;

TRUNCATE TABLE {database}.events_periods;

INSERT INTO {database}.events_periods
SELECT project_id, p.1 AS period, p.2 AS bucket, name, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.events_daily
ARRAY JOIN [('week', toMonday(events_daily.bucket)), ('month', toStartOfMonth(events_daily.bucket))] AS p
GROUP BY project_id, period, bucket, name;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_periods_mv TO {database}.events_periods AS
SELECT project_id, p.1 AS period, p.2 AS bucket, name, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.events_daily
ARRAY JOIN [('week', toMonday(events_daily.bucket)), ('month', toStartOfMonth(events_daily.bucket))] AS p
GROUP BY project_id, period, bucket, name;

DROP TABLE IF EXISTS {database}.events_weekly;

DROP TABLE IF EXISTS {database}.events_monthly;

CREATE VIEW {database}.events_weekly AS
SELECT project_id, bucket, name, events, devices, sessions FROM {database}.events_periods WHERE period = 'week';

CREATE VIEW {database}.events_monthly AS
SELECT project_id, bucket, name, events, devices, sessions FROM {database}.events_periods WHERE period = 'month';

-- pages
CREATE TABLE IF NOT EXISTS {database}.pages_periods
(
    project_id LowCardinality(String),
    period Enum8('week' = 1, 'month' = 2),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    path String,
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, period, bucket, name, path)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

DROP VIEW IF EXISTS {database}.pages_weekly_mv;

DROP VIEW IF EXISTS {database}.pages_monthly_mv;

DROP VIEW IF EXISTS {database}.pages_periods_mv;

TRUNCATE TABLE {database}.pages_periods;

INSERT INTO {database}.pages_periods
SELECT project_id, p.1 AS period, p.2 AS bucket, name, path, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.pages_daily
ARRAY JOIN [('week', toMonday(pages_daily.bucket)), ('month', toStartOfMonth(pages_daily.bucket))] AS p
GROUP BY project_id, period, bucket, name, path;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pages_periods_mv TO {database}.pages_periods AS
SELECT project_id, p.1 AS period, p.2 AS bucket, name, path, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.pages_daily
ARRAY JOIN [('week', toMonday(pages_daily.bucket)), ('month', toStartOfMonth(pages_daily.bucket))] AS p
GROUP BY project_id, period, bucket, name, path;

DROP TABLE IF EXISTS {database}.pages_weekly;

DROP TABLE IF EXISTS {database}.pages_monthly;

CREATE VIEW {database}.pages_weekly AS
SELECT project_id, bucket, name, path, events, devices, sessions FROM {database}.pages_periods WHERE period = 'week';

CREATE VIEW {database}.pages_monthly AS
SELECT project_id, bucket, name, path, events, devices, sessions FROM {database}.pages_periods WHERE period = 'month';

-- visits
CREATE TABLE IF NOT EXISTS {database}.visits_periods
(
    project_id LowCardinality(String),
    period Enum8('week' = 1, 'month' = 2),
    bucket DateTime('UTC'),
    dimension LowCardinality(String),
    value String,
    visits SimpleAggregateFunction(sum, UInt64),
    devices AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, period, dimension, bucket, value)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

DROP VIEW IF EXISTS {database}.visits_weekly_mv;

DROP VIEW IF EXISTS {database}.visits_monthly_mv;

DROP VIEW IF EXISTS {database}.visits_periods_mv;

TRUNCATE TABLE {database}.visits_periods;

INSERT INTO {database}.visits_periods
SELECT project_id, p.1 AS period, p.2 AS bucket, dimension, value, sum(visits) AS visits, uniqMergeState(devices) AS devices
FROM {database}.visits_daily
ARRAY JOIN [('week', toMonday(visits_daily.bucket)), ('month', toStartOfMonth(visits_daily.bucket))] AS p
GROUP BY project_id, period, bucket, dimension, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.visits_periods_mv TO {database}.visits_periods AS
SELECT project_id, p.1 AS period, p.2 AS bucket, dimension, value, sum(visits) AS visits, uniqMergeState(devices) AS devices
FROM {database}.visits_daily
ARRAY JOIN [('week', toMonday(visits_daily.bucket)), ('month', toStartOfMonth(visits_daily.bucket))] AS p
GROUP BY project_id, period, bucket, dimension, value;

DROP TABLE IF EXISTS {database}.visits_weekly;

DROP TABLE IF EXISTS {database}.visits_monthly;

CREATE VIEW {database}.visits_weekly AS
SELECT project_id, bucket, dimension, value, visits, devices FROM {database}.visits_periods WHERE period = 'week';

CREATE VIEW {database}.visits_monthly AS
SELECT project_id, bucket, dimension, value, visits, devices FROM {database}.visits_periods WHERE period = 'month';
