/**
 * Server-side tracking with @livepanel/node:
 *   LIVEPANEL_URL=http://localhost:3000 LIVEPANEL_CLIENT_ID=… LIVEPANEL_CLIENT_SECRET=… npx tsx sdk/examples/node/track.ts
 */
import { init } from '@livepanel/node';

const lp = init({
  apiUrl: process.env.LIVEPANEL_URL ?? 'http://localhost:3000',
  clientId: process.env.LIVEPANEL_CLIENT_ID ?? '',
  clientSecret: process.env.LIVEPANEL_CLIENT_SECRET ?? '',
  debug: true,
});

// In a request handler you would pass the visitor's address and agent, so the event is theirs.
lp.track('order_paid', { profileId: 'user-42', amount: 4200, __ip: '8.8.8.8', __userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0' });
lp.identify({ profileId: 'user-42', email: 'user42@example.com', properties: { plan: 'pro' } });
lp.increment('orders', 1, 'user-42');
lp.revenue(4200, { profileId: 'user-42', currency: 'EUR' });

await lp.shutdown(); // waits for the acknowledgements, then closes the socket
console.log('sent', lp.stats());
