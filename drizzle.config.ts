// drizzle-kit configuration: `npm run db:generate -- --name <change>` writes a new SQL
// migration for db/schema.ts into db/migrations (applied on open by server/store/postgres.ts).
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
