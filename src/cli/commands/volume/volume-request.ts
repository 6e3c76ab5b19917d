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
