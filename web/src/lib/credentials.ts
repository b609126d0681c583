/**
 * The dashboard's sign-in until user accounts exist: a read client of one project (id +
 * secret), kept in this tab's sessionStorage — gone when the tab closes, never sent anywhere
 * but this Livepanel (its live channel and read API, through api.ts). One entry per project,
 * so two tabs can watch two projects.
 */
import type { LiveClientAuth } from '$shared/live.ts';

export type Credentials = LiveClientAuth;

const key = (projectId: string) => `livepanel:credentials:${projectId}`;

/** The stored credentials for `projectId`, or null (none, unreadable, or storage blocked). */
export function readCredentials(projectId: string): Credentials | null {
  try {
    const raw = sessionStorage.getItem(key(projectId));
    if (!raw) return null;
    const c = JSON.parse(raw) as Partial<Credentials>;
    if (typeof c.clientId !== 'string' || typeof c.clientSecret !== 'string' || c.projectId !== projectId) return null;
    return { projectId, clientId: c.clientId, clientSecret: c.clientSecret };
  } catch {
    return null;
  }
}

export function saveCredentials(c: Credentials): void {
  sessionStorage.setItem(key(c.projectId), JSON.stringify(c));
}

export function forgetCredentials(projectId: string): void {
  sessionStorage.removeItem(key(projectId));
}
