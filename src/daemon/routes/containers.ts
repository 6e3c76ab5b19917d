/** /containers/*: the lifecycle, logs, attach, wait. Handlers parse, call one service method, answer. */
import { join } from 'node:path';
import type { ContainerCreateBody } from '../../api/index.js';
import { parseFilters, validateFilterKeys, matchLabels } from '../../api/index.js';
import { isRunning, usesVolume, type ContainerRecord } from '../../core/container/index.js';
import { formatNanos } from '../../core/logs/index.js';
import { invalidArgument } from '../../lib/errdefs.js';
import { runProcess } from '../../lib/process/index.js';
import type { ContainerService, ImageService } from '../../services/index.js';
import type { Router } from '../http/index.js';
import { hijack, sendEmpty, sendJson, startStream } from '../http/index.js';
import { containerInspect, containerSummary } from '../compat/index.js';
import { pumpOutput, socketInput, parseTimestamp } from './streams.js';
import { frame } from '../http/index.js';

export interface ContainerRoutesDeps {
  containers: ContainerService;
  images: ImageService;
  driver: string;
  upperDir: (id: string) => string;
  containerDir: (id: string) => string;
}

export function containerRoutes(r: Router, d: ContainerRoutesDeps): void {
  const { containers } = d;

  r.post('/containers/create', async (ctx) => {
    const body = await ctx.json<ContainerCreateBody>();
    if (!body) throw invalidArgument('config cannot be empty in order to create a container');
    const { id, warnings } = await containers.create(body, ctx.q('name'), ctx.q('platform'));
    sendJson(ctx, 201, { Id: id, Warnings: warnings });
  });

  r.get('/containers/json', async (ctx) => {
    const filters = parseFilters(ctx.q('filters'));
    validateFilterKeys(filters, ['id', 'name', 'label', 'status', 'ancestor', 'exited', 'before', 'since', 'volume', 'network', 'publish', 'expose', 'health', 'isolation', 'is-task']);
    const all = ctx.bool('all');
    let limit = ctx.int('limit') ?? -1;
    if (ctx.bool('latest')) limit = 1;
    const now = Date.now();
    let list = containers.list().sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    const statuses = filters.get('status');
    if (statuses) for (const s of statuses) if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s)) throw invalidArgument(`invalid filter 'status=${s}'`);
    const beforeRef = filters.get('before')?.[0], sinceRef = filters.get('since')?.[0];
    const before = beforeRef ? containers.get(beforeRef).created : undefined;
    const since = sinceRef ? containers.get(sinceRef).created : undefined;
    const publish = portFilter(filters, 'publish'), expose = portFilter(filters, 'expose');
    const health = filters.get('health');
    if (health) for (const v of health) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(v)) throw invalidArgument(`Unrecognised filter value for health: ${v}`);
    const isTask = boolFilter(filters, 'is-task');
    const networks = filters.get('network');
    list = list.filter((c) => {
      if (!all && !isRunning(c) && limit <= 0 && !statuses && !filters.has('exited')) return false;
      if (statuses && !statuses.includes(c.state.status)) return false;
      const exited = filters.get('exited');
      if (exited && !(c.state.status === 'exited' && exited.map(Number).includes(c.state.exitCode))) return false;
      const ids = filters.get('id');
      if (ids && !ids.some((p) => c.id.startsWith(p))) return false;
      const names = filters.get('name');
      if (names && !names.some((n) => matchName(c.name, n))) return false;
      if (!matchLabels(filters, c.config.Labels)) return false;
      const vols = filters.get('volume');
      if (vols && !vols.some((v) => usesVolume(c.mounts, v))) return false;
      const anc = filters.get('ancestor');
      if (anc && !anc.some((a) => ancestorMatches(d.images, c, a))) return false;
      if (before && c.created >= before) return false;
      if (since && c.created <= since) return false;
      if (publish && !Object.keys(c.hostConfig.PortBindings ?? {}).some((k) => publish.has(normPort(k)))) return false;
      if (expose && !Object.keys(c.config.ExposedPorts ?? {}).some((k) => expose.has(normPort(k)))) return false;
      if (health && !health.includes(c.state.health?.status ?? 'none')) return false;
      if (isTask === true) return false; // no swarm: no container is a task
      if (networks && !networks.some((n) => onNetwork(c, n))) return false;
      return true;
    });
    if (limit > 0) list = list.slice(0, limit);
    sendJson(ctx, 200, list.map((c) => containerSummary(c, now, imageDisplayName(d.images, c))));
  });

  r.get('/containers/:id/json', async (ctx) => {
    const c = containers.get(ctx.params.id!);
    const dir = d.containerDir(c.id);
    sendJson(ctx, 200, containerInspect(c, {
      driver: d.driver, rootfsDir: join(containers.bundleDir(c.id), 'rootfs'), upperDir: d.upperDir(c.id),
      resolvConf: join(dir, 'resolv.conf'), hostsPath: join(dir, 'hosts'), hostnamePath: join(dir, 'hostname'),
    }));
  });

  r.post('/containers/:id/start', async (ctx) => {
    await containers.start(ctx.params.id!);
    sendEmpty(ctx, 204);
  });

  r.post('/containers/:id/stop', async (ctx) => {
    await containers.stop(ctx.params.id!, ctx.int('t') ?? ctx.int('timeout'), ctx.q('signal'));
    sendEmpty(ctx, 204);
  });

  r.post('/containers/:id/restart', async (ctx) => {
    await containers.restart(ctx.params.id!, ctx.int('t') ?? ctx.int('timeout'));
    sendEmpty(ctx, 204);
  });

  r.post('/containers/:id/kill', async (ctx) => {
    await containers.kill(ctx.params.id!, ctx.q('signal'));
    sendEmpty(ctx, 204);
  });

  r.post('/containers/:id/pause', async (ctx) => {
    await containers.pause(ctx.params.id!);
    sendEmpty(ctx, 204);
  });

  r.post('/containers/:id/unpause', async (ctx) => {
    await containers.unpause(ctx.params.id!);
    sendEmpty(ctx, 204);
  });

  r.post('/containers/:id/rename', async (ctx) => {
    await containers.rename(ctx.params.id!, ctx.q('name') ?? '');
    sendEmpty(ctx, 204);
  });

  r.post('/containers/:id/resize', async (ctx) => {
    await containers.resize(ctx.params.id!, ctx.int('h') ?? 0, ctx.int('w') ?? 0);
    sendEmpty(ctx, 200);
  });

  r.delete('/containers/:id', async (ctx) => {
    await containers.remove(ctx.params.id!, { force: ctx.bool('force'), volumes: ctx.bool('v') });
    sendEmpty(ctx, 204);
  });

  r.post('/containers/prune', async (ctx) => {
    const res = await containers.prune(parseFilters(ctx.q('filters')));
    sendJson(ctx, 200, { ContainersDeleted: res.deleted.length ? res.deleted : null, SpaceReclaimed: res.reclaimed });
  });

  r.post('/containers/:id/wait', async (ctx) => {
    const c = containers.get(ctx.params.id!);
    const cond = ctx.q('condition') || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalidArgument(`invalid condition: "${cond}"`);
    const waiting = containers.waitFor(c.id, cond as 'not-running' | 'next-exit' | 'removed');
    const s = startStream(ctx, 'application/json');
    const code = await Promise.race([waiting, new Promise<undefined>((res) => s.closed.addEventListener('abort', () => res(undefined)))]);
    if (code === undefined) return;
    s.write(JSON.stringify({ Error: null, StatusCode: code }) + '\n');
    s.end();
  });

  r.get('/containers/:id/top', async (ctx) => {
    const pids = new Set((await containers.pids(ctx.params.id!)).map(String));
    const args = (ctx.q('ps_args') || '-ef').split(/\s+/).filter(Boolean);
    const out = await runProcess(['ps', ...args]);
    if (out.code !== 0) throw invalidArgument(`ps: ${out.stderr.trim()}`);
    const lines = out.stdout.split('\n').filter((l) => l.trim());
    const header = (lines[0] ?? '').trim().split(/\s+/);
    const pidCol = header.indexOf('PID');
    if (pidCol < 0) throw invalidArgument(`Couldn't find PID field in ps output`);
    const processes = lines.slice(1).map((l) => {
      const f = l.trim().split(/\s+/);
      const row = f.slice(0, header.length - 1);
      row.push(f.slice(header.length - 1).join(' '));
      return row;
    }).filter((row) => pids.has(row[pidCol] ?? ''));
    sendJson(ctx, 200, { Titles: header, Processes: processes });
  });

  r.get('/containers/:id/logs', async (ctx) => {
    const c = containers.get(ctx.params.id!);
    const stdout = ctx.bool('stdout'), stderr = ctx.bool('stderr');
    if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
    containers.readableLogPolicy(c.id); // before the headers go out
    const tailRaw = ctx.q('tail');
    const tailN = tailRaw === undefined || tailRaw === 'all' ? undefined : Number(tailRaw);
    const tail = tailN !== undefined && Number.isFinite(tailN) && tailN >= 0 ? tailN : undefined;
    const s = startStream(ctx, undefined);
    const ts = ctx.bool('timestamps');
    const tty = !!c.config.Tty;
    for await (const e of containers.logs(c.id, {
      follow: ctx.bool('follow'), stdout, stderr, since: parseTimestamp(ctx.q('since')), until: parseTimestamp(ctx.q('until')), tail, signal: s.closed,
    })) {
      const payload = ts ? Buffer.concat([Buffer.from(formatNanos(e.nanos) + ' '), e.data]) : e.data;
      if (!s.write(tty ? payload : frame(e.stream === 'stdout' ? 1 : 2, payload))) {
        if (s.closed.aborted) break;
        await new Promise<void>((res) => { ctx.res!.once('drain', res); ctx.res!.once('close', res); });
      }
    }
    s.end();
  });

  r.post('/containers/:id/attach', async (ctx) => {
    const c = containers.get(ctx.params.id!);
    await ctx.rawBody();
    const wantStdin = ctx.bool('stdin');
    const sock = hijack(ctx, 'application/vnd.docker.raw-stream');
    const ac = new AbortController();
    sock.on('close', () => ac.abort());
    sock.on('error', () => ac.abort());
    const keys = ctx.q('detachKeys') ? parseDetachKeys(ctx.q('detachKeys')!) : undefined;
    const { output } = await containers.attach(c.id, {
      stdin: wantStdin ? socketInput(sock) : undefined,
      stdout: ctx.bool('stdout'), stderr: ctx.bool('stderr'), logs: ctx.bool('logs'), stream: ctx.bool('stream'),
      detachKeys: keys,
    }, ac.signal);
    if (!wantStdin) sock.resume();
    await pumpOutput(output, sock, !!c.config.Tty).catch(() => {});
    sock.end();
  });
}

/** `80`, `80/udp`, `8000-8080[/proto]` → the set of `port/proto` keys (moby's portOp). */
function portFilter(filters: Map<string, string[]>, key: string): Set<string> | undefined {
  const values = filters.get(key);
  if (!values) return undefined;
  const out = new Set<string>();
  for (const v of values) {
    if (v.includes(':')) throw invalidArgument(`filter for '${key}' should not contain ':': ${v}`);
    const [range = '', proto = 'tcp'] = v.split('/');
    const m = /^(\d+)(?:-(\d+))?$/.exec(range);
    const start = m ? Number(m[1]) : NaN, end = m?.[2] !== undefined ? Number(m[2]) : start;
    if (!m || start > 65535 || end > 65535 || end < start) throw invalidArgument(`error while looking up for ${key} ${v}: invalid port range: ${range}`);
    for (let p = start; p <= end; p++) out.add(`${p}/${proto.toLowerCase()}`);
  }
  return out;
}

/** moby: a key of NetworkSettings.Networks, or a prefix of one of their NetworkIDs (`none`/`host` have no endpoint record in pier: by mode). */
function onNetwork(c: ContainerRecord, n: string): boolean {
  const mode = c.hostConfig.NetworkMode ?? '';
  if ((mode === 'none' || mode === 'host') && n === mode) return true;
  if (n in c.endpoints || (n === 'bridge' && 'default' in c.endpoints)) return true;
  return n !== '' && Object.values(c.endpoints).some((ep) => (ep.NetworkID ?? '').startsWith(n));
}

const normPort = (k: string): string => (k.includes('/') ? k.toLowerCase() : `${k}/tcp`);

/** moby's GetBoolOrDefault: 1|true / 0|false, anything else (or both) is an invalid filter. */
function boolFilter(filters: Map<string, string[]>, key: string): boolean | undefined {
  const values = filters.get(key);
  if (!values) return undefined;
  const t = values.includes('1') || values.includes('true'), f = values.includes('0') || values.includes('false');
  if (t === f) throw invalidArgument(`invalid filter '${key}=${values.join(',')}'`);
  return t;
}

function matchName(name: string, pattern: string): boolean {
  const p = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  try { return new RegExp(p).test(name); } catch { return name.includes(p); }
}

function ancestorMatches(images: ImageService, c: ContainerRecord, a: string): boolean {
  const img = images.find(a);
  return img ? img.id === c.imageId : c.config.Image === a;
}

/** The image column of ps: the name the user gave while it still points at the image. */
function imageDisplayName(images: ImageService, c: ContainerRecord): string {
  const given = c.config.Image ?? '';
  const img = images.find(given);
  if (img && img.id === c.imageId) return given;
  return c.imageId;
}

/** `ctrl-p,ctrl-q` / `a,b` → bytes (Docker's term.ToBytes). */
export function parseDetachKeys(spec: string): number[] {
  return spec.split(',').map((k) => {
    const t = k.trim();
    if (/^ctrl-[a-z@\[\\\]^_]$/i.test(t)) {
      const ch = t.slice(5).toLowerCase();
      return ch >= 'a' && ch <= 'z' ? ch.charCodeAt(0) - 96 : ({ '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 } as Record<string, number>)[ch]!;
    }
    if (t.length === 1) return t.charCodeAt(0);
    throw invalidArgument(`Invalid escape keys (${spec}) provided`);
  });
}
