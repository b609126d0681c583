// Entry of the insert thread (insert-thread.ts): loads its TypeScript module through tsx,
// since a worker thread does not get the parent's module loader on Node 20.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
