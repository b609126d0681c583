import { describe, expect, it } from 'vitest';
import { installSnippets } from './snippets.ts';

const clientId = '5b0c2f3e-1111-4111-8111-111111111111';

describe('install snippets', () => {
  it('fill in this Livepanel and the client, in every snippet', () => {
    const snippets = installSnippets({ apiUrl: 'https://panel.example.com/', clientId });
    expect(snippets.map((s) => s.id)).toEqual(['script', 'openpanel-web', 'node', 'curl']);
    for (const s of snippets) {
      expect(s.code, s.id).toContain(clientId);
      expect(s.code, s.id).toContain('https://panel.example.com');
      expect(s.code, s.id).not.toContain('https://panel.example.com//');
    }
  });

  it('the script tag is exactly the documented one', () => {
    const [script] = installSnippets({ apiUrl: 'https://panel.example.com', clientId });
    expect(script?.code).toBe(
      [
        '<script>',
        '  window.lp = window.lp || function () { (lp.q = lp.q || []).push(arguments) };',
        '</script>',
        `<script async src="https://panel.example.com/lp.js" data-client-id="${clientId}"></script>`,
      ].join('\n'),
    );
  });

  it('server snippets read the secret from the environment, never inline it', () => {
    const node = installSnippets({ apiUrl: 'http://localhost:3000', clientId }).find((s) => s.id === 'node');
    expect(node?.code).toContain('process.env.LIVEPANEL_SECRET');
  });
});
