/** Engine API calls of the volume verbs (through the client's generic JSON request). */
import type { VolumeRow } from '../../format/index.js';
import type { CommandEnv } from '../command.js';

export type VolumeSummary = VolumeRow;

export const listVolumes = async (env: CommandEnv, filters?: string): Promise<VolumeSummary[]> =>
  (await env.client().json<{ Volumes: VolumeSummary[] | null }>('GET', '/volumes', { query: { filters } })).Volumes ?? [];
