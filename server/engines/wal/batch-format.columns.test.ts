// Format-2 WAL lines carry values by position only (wal/batch-format.ts: TABLE_COLUMNS, from
// shared/rows.ts), and a log written by one version is replayed by the next after an upgrade.
// Were a column added, removed or moved in shared/rows.ts, the lines already in a log would be
// inserted under the wrong columns: refused and quarantined, or worse, stored shifted. So the
// columns the logs in the field were written with are pinned here: changing them needs a new
// record format (or a section header naming its columns) that reads these lines as written.
import { describe, expect, it } from 'vitest';
import { TABLE_COLUMNS } from './batch-format.ts';

const WRITTEN_WITH = {
  events:
    'id,project_id,name,device_id,profile_id,session_id,created_at,received_at,path,origin,title,referrer,referrer_name,referrer_type,utm_source,utm_medium,utm_campaign,utm_term,utm_content,revenue,duration,properties,groups,country,region,city,latitude,longitude,os,os_version,browser,browser_version,device,brand,model,sdk_name,sdk_version',
  sessions:
    'id,project_id,device_id,profile_id,created_at,ended_at,duration,event_count,screen_view_count,is_bounce,entry_path,entry_origin,exit_path,exit_origin,referrer,referrer_name,referrer_type,utm_source,utm_medium,utm_campaign,utm_term,utm_content,revenue,country,region,city,os,os_version,browser,browser_version,device,brand,model',
  groups: 'project_id,id,type,name,properties,updated_at',
  replays: 'project_id,session_id,device_id,chunk_index,started_at,ended_at,events_count,is_full_snapshot,payload',
};

describe('WAL format-2 columns', () => {
  it.each(Object.entries(WRITTEN_WITH))('%s lines keep the column order logs were written with', (table, columns) => {
    expect(TABLE_COLUMNS[table as keyof typeof TABLE_COLUMNS].join(','), 'a row schema change needs a WAL format that reads older lines').toBe(columns);
  });
});
