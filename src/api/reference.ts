/**
 * Image references as Docker normalises them: `busybox` = `docker.io/library/busybox:latest`,
 * listed as the familiar `busybox:latest`. Grammar from the distribution reference spec.
 */
import { invalidArgument } from '../lib/errdefs.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface Reference {
  /** Registry host, e.g. docker.io, 127.0.0.1:5000 */
  domain: string;
  /** Repository path without domain, e.g. library/busybox */
  path: string;
  tag?: string;
  digest?: string;
}

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const domainRe = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$/;

/** True for a 64-hex string (an image or container ID without prefix). */
export const isFullHexId = (s: string): boolean => /^[a-f0-9]{64}$/.test(s);

/** Parses and normalises a reference; throws invalid-argument with Docker's wording. */
export function parseReference(input: string): Reference {
  if (input === '') throw invalidArgument('invalid reference format');
  if (isFullHexId(input)) {
    throw invalidArgument(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw invalidArgument('invalid reference format');
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagRe.test(tag)) throw invalidArgument('invalid reference format');
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!domainRe.test(domain)) throw invalidArgument('invalid reference format');
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) {
    // Docker names the repository as normalised: `Busybox` → (library/Busybox).
    const shown = domain === DEFAULT_DOMAIN && !path.includes('/') ? `library/${path}` : path;
    throw invalidArgument('invalid reference format: repository name (' + shown + ') must be lowercase');
  }
  for (const c of path.split('/')) {
    if (!pathComponent.test(c)) throw invalidArgument('invalid reference format');
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (domain.length + path.length + 1 > 255) throw invalidArgument('repository name must not be more than 255 characters');
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Adds `:latest` when the reference has neither tag nor digest. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** Fully qualified repository: docker.io/library/busybox */
export const fullName = (ref: Reference): string => `${ref.domain}/${ref.path}`;

/** Familiar repository name: busybox, user/app, 127.0.0.1:5000/x */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice(8) : ref.path;
}

/** Familiar string with tag and/or digest: busybox:latest */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Canonical string with tag and/or digest: docker.io/library/busybox:latest */
export function canonicalString(ref: Reference): string {
  let s = fullName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}
