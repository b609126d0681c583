import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from './local-cluster.ts';
import { MALLOC_ENV } from './malloc-env.ts';

describe('malloc settings', () => {
  it('npm start sets each of them, unless the environment does, as startNode does', () => {
    const start: string = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).scripts.start;
    for (const [name, value] of Object.entries(MALLOC_ENV)) expect(start).toContain(`${name}=\${${name}:-${value}}`);
    expect(start).toMatch(/ tsx server\/main\.ts$/);
  });
});
