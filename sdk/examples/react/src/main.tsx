import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';

declare const LIVEPANEL_URL: string;
declare const LIVEPANEL_CLIENT_ID: string;

createRoot(document.getElementById('root')!).render(<App apiUrl={LIVEPANEL_URL} clientId={LIVEPANEL_CLIENT_ID} />);
