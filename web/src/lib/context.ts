/** Typed Svelte contexts the project layout provides to its pages. */
import { getContext, setContext } from 'svelte';
import type { Api } from './api.ts';

const API = Symbol('api');

export const setApi = (api: Api) => setContext(API, api);
export function getApi(): Api {
  const api = getContext<Api | undefined>(API);
  if (!api) throw new Error('getApi() outside a project page');
  return api;
}
