/**
 * A small Vue 3 app: the Livepanel plugin with Vue Router page views, a signup button using
 * `useLivepanel()`, and a `data-track` button (render functions, so no SFC compiler is needed).
 */
import { Livepanel, useLivepanel } from '@livepanel/vue';
import { createApp, defineComponent, h, onMounted } from 'vue';
import { createRouter, createWebHistory, RouterLink, RouterView } from 'vue-router';

declare const LIVEPANEL_URL: string;
declare const LIVEPANEL_CLIENT_ID: string;

const page = (title: string, body: () => ReturnType<typeof h>[]) =>
  defineComponent({
    setup() {
      onMounted(() => {
        document.title = `${title} · Vue example`;
      });
      return () => h('main', [h('h1', title), ...body()]);
    },
  });

const Home = defineComponent({
  setup() {
    // biome-ignore lint/correctness/useHookAtTopLevel: a Vue composable, called in setup() as Vue wants.
    const lp = useLivepanel();
    const Inner = page('Home', () => [h('button', { id: 'signup', onClick: () => lp?.track('signup', { plan: 'pro' }) }, 'Sign up')]);
    return () => h(Inner);
  },
});
const Pricing = page('Pricing', () => [h('button', { 'data-track': 'plan_chosen', 'data-plan': 'team' }, 'Choose Team')]);

const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', component: Home },
    { path: '/pricing', component: Pricing },
  ],
});

const App = defineComponent({
  setup: () => () =>
    h('div', [
      h('nav', [h(RouterLink, { to: '/', id: 'nav-home' }, () => 'Home'), ' ', h(RouterLink, { to: '/pricing?ref=nav', id: 'nav-pricing' }, () => 'Pricing')]),
      h(RouterView),
    ]),
});

createApp(App).use(router).use(Livepanel, { apiUrl: LIVEPANEL_URL, clientId: LIVEPANEL_CLIENT_ID, router }).mount('#app');
