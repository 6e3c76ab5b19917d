/**
 * The verb table: names → lazy loaders, so `pier <verb>` loads only that verb's file.
 * `container <verb>` and `image <verb>` reach the same files as the top-level shortcuts.
 */
import type { CommandSpec } from './command.js';

export type { CommandSpec, CommandEnv, CliStreams, ArgsRule, OutStream, InStream } from './command.js';
export { StatusError, checkArgs, flagErrorText, PROG } from './command.js';

type Loader = () => Promise<CommandSpec>;
interface Entry {
  readonly load: Loader;
  readonly description: string;
}

const e = (description: string, load: () => Promise<{ command: CommandSpec }>): Entry => ({
  description,
  load: async () => (await load()).command,
});

const C = {
  attach: e('Attach local standard input, output, and error streams to a running container', () => import('./container/attach.js')),
  commit: e("Create a new image from a container's changes", () => import('./container/commit.js')),
  cp: e('Copy files/folders between a container and the local filesystem', () => import('./container/cp.js')),
  create: e('Create a new container', () => import('./container/create.js')),
  diff: e("Inspect changes to files or directories on a container's filesystem", () => import('./container/diff.js')),
  exec: e('Execute a command in a running container', () => import('./container/exec.js')),
  export: e("Export a container's filesystem as a tar archive", () => import('./container/export.js')),
  inspect: e('Display detailed information on one or more containers', () => import('./container/inspect.js')),
  kill: e('Kill one or more running containers', () => import('./container/kill.js')),
  logs: e('Fetch the logs of a container', () => import('./container/logs.js')),
  ls: e('List containers', () => import('./container/ps.js')),
  pause: e('Pause all processes within one or more containers', () => import('./container/pause.js')),
  rename: e('Rename a container', () => import('./container/rename.js')),
  restart: e('Restart one or more containers', () => import('./container/restart.js')),
  rm: e('Remove one or more containers', () => import('./container/rm.js')),
  run: e('Create and run a new container from an image', () => import('./container/run.js')),
  start: e('Start one or more stopped containers', () => import('./container/start.js')),
  stats: e('Display a live stream of container(s) resource usage statistics', () => import('./container/stats.js')),
  stop: e('Stop one or more running containers', () => import('./container/stop.js')),
  top: e('Display the running processes of a container', () => import('./container/top.js')),
  unpause: e('Unpause all processes within one or more containers', () => import('./container/unpause.js')),
  update: e('Update configuration of one or more containers', () => import('./container/update.js')),
  wait: e('Block until one or more containers stop, then print their exit codes', () => import('./container/wait.js')),
};

const I = {
  import: e('Import the contents from a tarball to create a filesystem image', () => import('./image/import.js')),
  inspect: e('Display detailed information on one or more images', () => import('./image/image-inspect.js')),
  ls: e('List images', () => import('./image/images.js')),
  rm: e('Remove one or more images', () => import('./image/rmi.js')),
  tag: e('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', () => import('./image/tag.js')),
  pull: e('Download an image from a registry', () => import('./image/pull.js')),
  save: e('Save one or more images to a tar archive (streamed to STDOUT by default)', () => import('./image/save.js')),
  load: e('Load an image from a tar archive or STDIN', () => import('./image/load.js')),
  history: e('Show the history of an image', () => import('./image/history.js')),
  build: e('Build an image from a Dockerfile', () => import('./image/build.js')),
  prune: e('Remove unused images', () => import('./image/prune.js')),
  push: e('Upload an image to a registry', () => import('./image/push.js')),
};

const N = {
  connect: e('Connect a container to a network', () => import('./network/connect.js')),
  create: e('Create a network', () => import('./network/create.js')),
  disconnect: e('Disconnect a container from a network', () => import('./network/disconnect.js')),
  inspect: e('Display detailed information on one or more networks', () => import('./network/inspect.js')),
  ls: e('List networks', () => import('./network/ls.js')),
  prune: e('Remove all unused networks', () => import('./network/prune.js')),
  rm: e('Remove one or more networks', () => import('./network/rm.js')),
};

const V = {
  create: e('Create a volume', () => import('./volume/create.js')),
  inspect: e('Display detailed information on one or more volumes', () => import('./volume/inspect.js')),
  ls: e('List volumes', () => import('./volume/ls.js')),
  prune: e('Remove unused local volumes', () => import('./volume/prune.js')),
  rm: e('Remove one or more volumes', () => import('./volume/rm.js')),
};

const S = {
  events: e('Get real time events from the server', () => import('./system/events.js')),
  info: e('Display system-wide information', () => import('./system/info.js')),
  df: e('Show docker disk usage', () => import('./system/df.js')),
};

export const topLevel: Readonly<Record<string, Entry>> = {
  ...C,
  ps: C.ls,
  images: I.ls,
  import: I.import,
  inspect: e('Return low-level information on Docker objects', () => import('./system/inspect.js')),
  rmi: I.rm,
  tag: I.tag,
  pull: I.pull,
  save: I.save,
  load: I.load,
  history: I.history,
  build: I.build,
  push: I.push,
  login: e('Log in to a registry', () => import('./registry/login.js')),
  logout: e('Log out from a registry', () => import('./registry/logout.js')),
  search: e('Search Docker Hub for images', () => import('./registry/search.js')),
  registry: e('Run an OCI distribution registry (pier registry serve|gc)', () => import('./registry/registry.js')),
  events: S.events,
  port: e('List port mappings or a specific mapping for the container', () => import('./container/port.js')),
  info: S.info,
  version: e('Show the Docker version information', () => import('./system/version.js')),
};
delete (topLevel as Record<string, Entry>)['ls'];

export const groups: Readonly<Record<string, { readonly description: string; readonly commands: Readonly<Record<string, Entry>> }>> = {
  container: { description: 'Manage containers', commands: { ...C, list: C.ls, ps: C.ls, remove: C.rm } },
  image: { description: 'Manage images', commands: { ...I, list: I.ls, remove: I.rm } },
  system: { description: 'Manage Docker', commands: { ...S } },
  network: { description: 'Manage networks', commands: { ...N, list: N.ls, remove: N.rm } },
  volume: { description: 'Manage volumes', commands: { ...V, list: V.ls, remove: V.rm } },
};

/** The entries listed in group help (aliases hidden). */
export function groupListing(group: string): Array<[string, string]> {
  const g = groups[group];
  if (!g) return [];
  const hidden = new Set(['list', 'ps', 'remove']);
  return Object.entries(g.commands)
    .filter(([n]) => !hidden.has(n))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([n, en]) => [n, en.description]);
}

export function topListing(): Array<[string, string]> {
  return Object.entries(topLevel)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([n, en]) => [n, en.description]);
}
export { PIER_VERSION, PIER_GIT_COMMIT } from './pier-version.js';
