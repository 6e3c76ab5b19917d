/**
 * A small image-reference splitter for the client side (docker's reference.ParseNormalizedNamed
 * without the full grammar): what `pier run`/`pull`/`tag`/`import` need to send fully-qualified
 * names (`fromImage=docker.io/library/busybox&tag=latest`) and print familiar ones
 * (`busybox:latest`). The daemon validates names; this only splits them.
 */

export interface ImageName {
  /** registry host, `docker.io` when none was given */
  readonly domain: string;
  /** repository path inside the registry; `library/` added for official Docker Hub images */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

const DEFAULT_DOMAIN = 'docker.io';

export function parseImageName(ref: string): ImageName {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && !rest.slice(colon + 1).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path, tag, digest };
}

/** `docker.io/library/busybox` */
export const fullRepository = (n: ImageName): string => `${n.domain}/${n.path}`;

/** `busybox`, `me/app`, `127.0.0.1:5000/bb` */
export function familiarRepository(n: ImageName): string {
  if (n.domain !== DEFAULT_DOMAIN) return `${n.domain}/${n.path}`;
  return n.path.startsWith('library/') && n.path.split('/').length === 2 ? n.path.slice('library/'.length) : n.path;
}

/** reference.TagNameOnly + FamiliarString: `busybox:latest`, `me/app@sha256:…` */
export function familiarWithDefaultTag(ref: string): string {
  const n = parseImageName(ref);
  const repo = familiarRepository(n);
  if (n.digest) return n.tag ? `${repo}:${n.tag}@${n.digest}` : `${repo}@${n.digest}`;
  return `${repo}:${n.tag ?? 'latest'}`;
}
