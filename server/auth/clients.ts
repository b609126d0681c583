/**
 * Authenticates ingest and read requests by API client (part of the auth module, which turns
 * every request into a principal). Browser SDKs send only a client id
 * and are authorised by their page's Origin against the client's allowed origins; server SDKs
 * prove the client secret. Client records are cached briefly (every request needs one), and
 * unknown ids are cached too so a flood of bad ids does not reach the database.
 */
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors.ts';
import { originAllowed } from './origin.ts';

/** An API client, as established by authentication: the project it acts for and how it proved itself. */
export interface Caller {
  projectId: string;
  clientId: string;
  clientType: 'write' | 'read' | 'root';
  /** True when the request proved the client secret (server SDKs): allows `__ip` overrides. */
  viaSecret: boolean;
}

export interface ClientRecord {
  id: string;
  projectId: string;
  type: 'write' | 'read' | 'root';
  secretHash: string | null;
  allowedOrigins: string[];
  disabled: boolean;
}

export interface AuthDeps {
  getClient(clientId: string): Promise<ClientRecord | null>;
  verifySecret(secret: string, hash: string): boolean;
  /** How long a client record is trusted before it is read again. */
  cacheTtlMs?: number;
  /** Most unknown client ids remembered (negative cache; default 10,000). */
  maxUnknownIds?: number;
}

export interface Credentials {
  clientId?: string;
  secret?: string;
  origin?: string;
}

const MAX_ORIGIN_VERDICTS = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Authenticator = ReturnType<typeof createAuthenticator>;

export function createAuthenticator(deps: AuthDeps) {
  const cache = new LRUCache<string, { record: ClientRecord }>({ max: 10_000, ttl: deps.cacheTtlMs ?? 30_000 });
  // Unknown ids are remembered apart, in a bounded LRU of their own: a flood of made-up ids
  // (any caller can send them) then evicts only other made-up ids, never a real client's record.
  const unknown = new LRUCache<string, true>({ max: deps.maxUnknownIds ?? 10_000, ttl: deps.cacheTtlMs ?? 30_000 });
  const verified = new LRUCache<string, true>({ max: 10_000, ttl: deps.cacheTtlMs ?? 30_000 });

  async function lookup(clientId: string): Promise<ClientRecord | null> {
    const hit = cache.get(clientId);
    if (hit) return hit.record;
    if (unknown.has(clientId)) return null;
    const record = await deps.getClient(clientId);
    if (record) cache.set(clientId, { record });
    else unknown.set(clientId, true);
    return record;
  }

  // Origin verdicts per list of allowed origins (a record read again brings a new list, which
  // starts afresh) and origin: a site's pages send the same few origins, and parsing the origin
  // and every entry with regular expressions on each request is ≈ 1 % of a `/track` request.
  // Origins are client-chosen: at most MAX_ORIGIN_VERDICTS per list, emptied when full.
  const originVerdicts = new WeakMap<readonly string[], Map<string, boolean>>();
  function originVerdict(origin: string, allowed: readonly string[]): boolean {
    let verdicts = originVerdicts.get(allowed);
    if (!verdicts) {
      verdicts = new Map();
      originVerdicts.set(allowed, verdicts);
    }
    let ok = verdicts.get(origin);
    if (ok === undefined) {
      if (verdicts.size >= MAX_ORIGIN_VERDICTS) verdicts.clear();
      ok = originAllowed(origin, allowed);
      verdicts.set(origin, ok);
    }
    return ok;
  }

  function checkSecret(client: ClientRecord, secret: string): boolean {
    if (!client.secretHash) return false;
    const key = `${client.id}:${secret}`;
    if (verified.has(key)) return true;
    const ok = deps.verifySecret(secret, client.secretHash);
    if (ok) verified.set(key, true);
    return ok;
  }

  /** Who is calling, for writing events (`write` and `root` clients). Throws 401 AppErrors. */
  async function forIngest(c: Credentials): Promise<Caller> {
    const client = await known(c.clientId);
    if (client.type === 'read') throw new AppError(401, 'forbidden', 'A read client cannot send events');
    if (c.secret) {
      if (!checkSecret(client, c.secret)) throw new AppError(401, 'bad_secret', 'Client secret does not match');
      return caller(client, true);
    }
    if (client.allowedOrigins.length === 0) throw new AppError(401, 'secret_required', 'This client has no allowed origins: send its secret');
    if (!c.origin || !originVerdict(c.origin, client.allowedOrigins)) {
      throw new AppError(401, 'origin_not_allowed', `Origin ${c.origin || '(none)'} is not allowed for this client`);
    }
    return caller(client, false);
  }

  /**
   * `forIngest`'s answer when it needs neither a read nor a refusal: the client's record is
   * cached under the id as sent (ids are cached in lower case, as the SDKs send them), and the
   * origin or an already verified secret allows the request. Undefined otherwise: `forIngest`
   * then reads, verifies or refuses with its precise error. Spares a `/track` request the
   * promises of `forIngest` and the id's regular expression (a cached id is a valid one).
   */
  function forIngestCached(c: Credentials): Caller | undefined {
    const client = c.clientId ? cache.get(c.clientId)?.record : undefined;
    if (!client || client.disabled || client.type === 'read') return undefined;
    if (c.secret) return client.secretHash && verified.has(`${client.id}:${c.secret}`) ? caller(client, true) : undefined;
    if (client.allowedOrigins.length === 0 || !c.origin || !originVerdict(c.origin, client.allowedOrigins)) return undefined;
    return caller(client, false);
  }

  /** Who is calling, for reading a project's data (`read` and `root` clients, secret required). */
  async function forRead(c: Credentials, projectId: string): Promise<Caller> {
    const client = await known(c.clientId);
    if (!c.secret || !checkSecret(client, c.secret)) throw new AppError(401, 'bad_secret', 'Reading needs the client id and secret');
    if (client.type === 'write') throw new AppError(403, 'forbidden', 'A write client cannot read');
    if (client.projectId !== projectId) throw new AppError(403, 'forbidden', 'This client belongs to another project');
    return caller(client, true);
  }

  async function known(clientId: string | undefined): Promise<ClientRecord> {
    if (!clientId) throw new AppError(401, 'missing_client_id', 'Send the client id in the openpanel-client-id header');
    if (!UUID.test(clientId)) throw new AppError(401, 'unknown_client', 'Unknown client id');
    const client = await lookup(clientId.toLowerCase());
    if (!client) throw new AppError(401, 'unknown_client', 'Unknown client id');
    if (client.disabled) throw new AppError(401, 'client_disabled', 'This client is disabled');
    return client;
  }

  /** Who is calling the API with a client id and secret (any type; the caller checks project and type). */
  async function forApi(c: Credentials): Promise<Caller> {
    const client = await known(c.clientId);
    if (!c.secret || !checkSecret(client, c.secret)) throw new AppError(401, 'bad_secret', 'Reading needs the client id and secret');
    return caller(client, true);
  }

  /** Drops a client (its record and every verified secret) from this node's caches: disabled, rotated or deleted. */
  function forget(clientId: string): void {
    const id = clientId.toLowerCase();
    cache.delete(id);
    unknown.delete(id);
    for (const key of verified.keys()) if (key.startsWith(`${id}:`)) verified.delete(key);
  }

  /** Drops every cached client of a project (its allowed origins changed, or it was deleted). */
  function forgetProject(projectId: string): void {
    for (const [id, hit] of cache.entries()) if (hit.record?.projectId === projectId) forget(id);
  }

  return { forIngest, forIngestCached, forRead, forApi, forget, forgetProject };
}

function caller(c: ClientRecord, viaSecret: boolean): Caller {
  return { projectId: c.projectId, clientId: c.id, clientType: c.type, viaSecret };
}
