/**
 * The install page's snippets, filled in with this Livepanel's URL and the project's browser
 * client: Livepanel's own script tag, `@openpanel/web` (bundled or by script tag), the Node SDK
 * and curl. Pure functions, so the text is unit-testable.
 */

export interface SnippetInput {
  /** Livepanel's base URL, e.g. `https://livepanel.example.com` */
  apiUrl: string;
  clientId: string;
}

export interface Snippet {
  id: string;
  title: string;
  language: string;
  code: string;
}

export function installSnippets({ apiUrl, clientId }: SnippetInput): Snippet[] {
  const base = apiUrl.replace(/\/+$/, '');
  return [
    {
      id: 'script',
      title: 'Script tag (Livepanel)',
      language: 'html',
      // The one-tag install with the queue stub, exactly as the README documents it: calls made
      // before the script loaded (lp('track', …), lp('identify', …)) are kept and run in order.
      code: [
        '<script>',
        '  window.lp = window.lp || function () { (lp.q = lp.q || []).push(arguments) };',
        '</script>',
        `<script async src="${base}/lp.js" data-client-id="${clientId}"></script>`,
      ].join('\n'),
    },
    {
      id: 'openpanel-web',
      title: '@openpanel/web',
      language: 'js',
      code: [
        "import { OpenPanel } from '@openpanel/web';",
        '',
        'const op = new OpenPanel({',
        `  apiUrl: '${base}',`,
        `  clientId: '${clientId}',`,
        '  trackScreenViews: true,',
        '  trackOutgoingLinks: true,',
        '  trackAttributes: true,',
        '});',
      ].join('\n'),
    },
    {
      id: 'node',
      title: 'Node.js (@openpanel/sdk)',
      language: 'js',
      code: [
        "import { OpenPanel } from '@openpanel/sdk';",
        '',
        `const op = new OpenPanel({ apiUrl: '${base}', clientId: '${clientId}', clientSecret: process.env.LIVEPANEL_SECRET });`,
        "await op.track('signup', { plan: 'pro' });",
      ].join('\n'),
    },
    {
      id: 'curl',
      title: 'curl',
      language: 'sh',
      code: [
        `curl -X POST '${base}/track' \\`,
        "  -H 'content-type: application/json' \\",
        `  -H 'openpanel-client-id: ${clientId}' \\`,
        "  -H 'openpanel-client-secret: $LIVEPANEL_SECRET' \\",
        `  -d '{"type":"track","payload":{"name":"hello","properties":{"__path":"https://example.com/"}}}'`,
      ].join('\n'),
    },
  ];
}
