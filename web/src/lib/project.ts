/** A project as the project pages read it (`GET /api/v1/projects/:id`). */
export interface Project {
  id: string;
  orgId: string;
  name: string;
  domain: string;
  timezone: string;
  allowedOrigins: string[];
  access: 'read' | 'write' | 'admin';
  role: string | null;
}

/** One origin per line (or comma) → list; blank entries dropped. */
export function parseOrigins(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}
