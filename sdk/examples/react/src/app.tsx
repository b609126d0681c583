/**
 * A small React app: Livepanel at the root, React Router page views, a signup button, a login
 * that identifies the visitor and a logout that resets it.
 */
import { LivepanelProvider, useLivepanel } from '@livepanel/react';
import { LivepanelPageViews } from '@livepanel/react/router';
import { useEffect } from 'react';
import { BrowserRouter, Link, Route, Routes } from 'react-router';

function Home() {
  const lp = useLivepanel();
  useEffect(() => {
    document.title = 'Home · React example';
  }, []);
  return (
    <main>
      <h1>Home</h1>
      <button type="button" id="signup" onClick={() => lp.track('signup', { plan: 'pro' })}>
        Sign up
      </button>
      <button type="button" id="login" onClick={() => lp.identify({ profileId: 'react-user', firstName: 'Ada', email: 'ada@example.com' })}>
        Log in
      </button>
      <button type="button" id="logout" onClick={() => lp.reset()}>
        Log out
      </button>
    </main>
  );
}

function Pricing() {
  useEffect(() => {
    document.title = 'Pricing · React example';
  }, []);
  return (
    <main>
      <h1>Pricing</h1>
      <button type="button" data-track="plan_chosen" data-plan="team">
        Choose Team
      </button>
    </main>
  );
}

export function App({ apiUrl, clientId }: { apiUrl: string; clientId: string }) {
  return (
    <LivepanelProvider apiUrl={apiUrl} clientId={clientId}>
      <BrowserRouter>
        <nav>
          <Link id="nav-home" to="/">
            Home
          </Link>{' '}
          <Link id="nav-pricing" to="/pricing?ref=nav">
            Pricing
          </Link>
        </nav>
        <Routes>
          <Route path="/" element={<Home />} />
          <Route path="/pricing" element={<Pricing />} />
        </Routes>
        <LivepanelPageViews />
      </BrowserRouter>
    </LivepanelProvider>
  );
}
