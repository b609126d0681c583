/**
 * The read API under `/api/v1/projects/:projectId` for checking what was stored: event counts,
 * the latest events, one profile and one group. Open to a signed-in user of the project's
 * organisation and to its `read`/`root` API clients (`openpanel-client-id` +
 * `openpanel-client-secret`, for scripts); not to share links (raw events and profiles are
 * more than any shared view shows).
 */
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { countEvents, countEventsAndIds, getGroup, getProfile, listEvents } from '../stats/events.ts';
import type { ApiDeps } from './deps.ts';
import type { Access, Router } from './router.ts';

const IsoDate = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((s) => new Date(s));

const CountQuery = z.object({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  name: z.string().max(200).optional(),
  /** `distinct=id` adds the number of distinct event ids (a double-counting check). */
  distinct: z.literal('id').optional(),
});
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) });

const READ: Access = { kind: 'project', level: 'read', principals: ['user', 'client'] };

export function readRoutes(r: Router, deps: ApiDeps): void {
  const ch = () => {
    if (!deps.ch) throw new AppError(404, 'not_found', 'This node does not serve the read API');
    return deps.ch;
  };
  const base = '/api/v1/projects/:projectId';

  r.route({ method: 'GET', path: `${base}/events/count`, access: READ, summary: 'Count stored events (`from`, `to`, `name`, `distinct=id`)' }, async (ctx) => {
    const q = ctx.query(CountQuery);
    const filter = { projectId: ctx.projectId, from: q.from, to: q.to, name: q.name };
    if (q.distinct === 'id') return ctx.c.json(await countEventsAndIds(ch(), filter));
    return ctx.c.json({ count: await countEvents(ch(), filter) });
  });

  r.route({ method: 'GET', path: `${base}/events`, access: READ, summary: 'The latest stored events (`limit` ≤ 1000)' }, async (ctx) => {
    const q = ctx.query(ListQuery);
    return ctx.c.json({ data: await listEvents(ch(), { projectId: ctx.projectId, limit: q.limit }) });
  });

  r.route({ method: 'GET', path: `${base}/profiles/:profileId`, access: READ, summary: 'One profile' }, async (ctx) => {
    const profileId = ctx.param('profileId');
    const profile = await getProfile(ch(), ctx.projectId, profileId);
    if (!profile) throw new AppError(404, 'not_found', `No profile ${JSON.stringify(profileId)} in this project`);
    return ctx.c.json({ data: profile });
  });

  r.route({ method: 'GET', path: `${base}/groups/:groupId`, access: READ, summary: 'One group' }, async (ctx) => {
    const groupId = ctx.param('groupId');
    const group = await getGroup(ch(), ctx.projectId, groupId);
    if (!group) throw new AppError(404, 'not_found', `No group ${JSON.stringify(groupId)} in this project`);
    return ctx.c.json({ data: group });
  });
}
