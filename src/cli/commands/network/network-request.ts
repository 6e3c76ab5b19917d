/** Engine API calls of the network verbs (through the client's generic JSON request). */
import type { NetworkRow } from '../../format/index.js';
import type { CommandEnv } from '../command.js';

export type NetworkSummary = NetworkRow;

export const listNetworks = (env: CommandEnv, filters?: string): Promise<NetworkSummary[]> =>
  env.client().json<NetworkSummary[]>('GET', '/networks', { query: { filters } });

export const inspectNetworkRaw = async (env: CommandEnv, ref: string): Promise<string> =>
  JSON.stringify(await env.client().json<unknown>('GET', `/networks/${encodeURIComponent(ref)}`));
