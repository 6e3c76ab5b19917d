/** Engine API calls of the volume verbs (through the client's generic JSON request). */
import type { CommandEnv } from '../command.js';

export interface VolumeSummary {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
  Scope: string;
}

export const listVolumes = async (env: CommandEnv, filters?: string): Promise<VolumeSummary[]> =>
  (await env.client().json<{ Volumes: VolumeSummary[] | null }>('GET', '/volumes', { query: { filters } })).Volumes ?? [];

/** Docker's error line for a failed call: `Error response from daemon: …`. */
export function daemonError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.startsWith('Error') ? m : `Error response from daemon: ${m}`;
}
