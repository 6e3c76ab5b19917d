/** Images: a config (whose digest is the image ID) and the diff IDs of its layers. */
import { createHash } from 'node:crypto';
import type { ImageConfigFile } from '../../api/index.js';

export interface ImageRecord {
  /** `sha256:<hex>` = digest of the config bytes */
  id: string;
  config: ImageConfigFile;
  /** Sum of the unpacked layer sizes, bytes */
  size: number;
  /** Parent image ID (local builds/commits), '' when none */
  parent: string;
  /** Manifest digests by repository, as `repo@sha256:…` (pulled images) */
  repoDigests: string[];
}

export const sha256 = (data: string | Buffer): string => 'sha256:' + createHash('sha256').update(data).digest('hex');

/** Chain IDs as the OCI image spec defines them: chain(n) = sha256(chain(n-1) + " " + diff(n)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}

export const hexOf = (digest: string): string => digest.replace(/^sha256:/, '');
