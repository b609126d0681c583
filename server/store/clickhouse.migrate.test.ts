// Statement splitting and file discovery of the ClickHouse migration runner (no database; the
// runner itself is exercised against chDB in clickhouse.int.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, splitStatements } from './clickhouse.migrate.ts';

describe('splitStatements', () => {
  it("splits on ';' outside strings, identifiers and comments", () => {
    const sql = `-- header; not a statement
CREATE TABLE a (s String DEFAULT 'x;y', t String DEFAULT 'it''s; \\'q\\';') ENGINE = Memory;
/* block; comment */ INSERT INTO \`we;ird\` VALUES ("a;b");;
-- trailing comment only;
`;
    expect(splitStatements(sql)).toEqual([
      "-- header; not a statement\nCREATE TABLE a (s String DEFAULT 'x;y', t String DEFAULT 'it''s; \\'q\\';') ENGINE = Memory",
      '/* block; comment */ INSERT INTO `we;ird` VALUES ("a;b")',
    ]);
  });

  it('keeps a last statement without a semicolon', () => {
    expect(splitStatements('SELECT 1;\nSELECT 2\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });
});

describe('loadMigrations', () => {
  it('orders files numerically and rejects bad names and duplicate numbers', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-ch-mig-'));
    try {
      writeFileSync(path.join(dir, '10_later.sql'), 'SELECT 10;');
      writeFileSync(path.join(dir, '9_earlier.sql'), 'SELECT 9; SELECT 9.5;');
      expect(loadMigrations(dir).map((m) => [m.version, m.name, m.statements.length])).toEqual([
        [9, '9_earlier.sql', 2],
        [10, '10_later.sql', 1],
      ]);
      writeFileSync(path.join(dir, '010_dup.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir)).toThrow(/share a number/);
      rmSync(path.join(dir, '010_dup.sql'));
      writeFileSync(path.join(dir, 'notes.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir)).toThrow(/notes\.sql/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
