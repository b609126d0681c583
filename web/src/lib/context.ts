/** Typed Svelte contexts the project layout provides to its pages. */
import { getContext, setContext } from 'svelte';
import type { ProjectApi } from './api.ts';

const API = Symbol('api');

export const setApi = (api: ProjectApi) => setContext(API, api);
export function getApi(): ProjectApi {
  const api = getContext<ProjectApi | undefined>(API);
  if (!api) throw new Error('getApi() outside a project page');
  return api;
}
