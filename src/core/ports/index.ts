/**
 * The ports: what services need from the outside world, named by role. Adapters in
 * src/adapters implement them; src/daemon/main.ts wires them together.
 */
import type { ContainerRecord } from '../container/index.js';
import type { ImageRecord } from '../image/index.js';
import type { Spec, Process, IdentityMapping } from '../oci/index.js';
import type { NetworkRecord } from '../network/index.js';
import type { BlobFetch, TarSplitRecorder } from '../../lib/tar/index.js';

export * from './resources.js';

/** Container records on disk: one small JSON file each, written atomically. */
export interface ContainerStore {
  loadAll(): Promise<ContainerRecord[]>;
  save(c: ContainerRecord): Promise<void>;
  remove(id: string): Promise<void>;
  /** The container's own directory under the data root (logs, hosts files). */
  dir(id: string): string;
}

/** Image records and the tag index (`docker.io/library/busybox:latest` → image ID). */
export interface ImageStore {
  loadAll(): Promise<{ images: ImageRecord[]; tags: Record<string, string> }>;
  saveImage(img: ImageRecord): Promise<void>;
  removeImage(id: string): Promise<void>;
  saveTags(tags: Record<string, string>): Promise<void>;
  /** Leases: blobs and layers an unfinished operation (a pull) keeps for reuse until `expires`. */
  loadLeases(): Promise<LeaseRecord[]>;
  saveLease(lease: LeaseRecord): Promise<void>;
  removeLease(id: string): Promise<void>;
}

export interface LeaseRecord {
  id: string;
  /** blob digests and chain IDs held */
  ids: string[];
  /** ms since the epoch */
  expires: number;
}

/** Content-addressed blobs (layers, configs, manifests), verified before they become visible. */
export interface ContentStore {
  /**
   * Writes a stream; resolves with its digest and size once committed. Concurrent ingests of
   * one expected digest share one write: the others wait, then only check their own data
   * against the committed blob (or write it themselves if the first writer failed).
   */
  ingest(data: AsyncIterable<Buffer>, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
  put(data: Buffer): Promise<string>;
  has(digest: string): Promise<boolean>;
  list(): Promise<string[]>;
  path(digest: string): string;
  remove(digest: string): Promise<void>;
}

/**
 * Layers and container filesystems. A committed layer is keyed by its chain ID and is
 * read-only once visible; a container snapshot is a writable upper dir on top of a
 * chain. Walk-through of an import: applyLayer(chain1, undefined, tar) unpacks into a
 * temporary directory and renames it into place, so a half-unpacked layer is never seen;
 * prepare(containerId) makes its upper and work dirs; mount(containerId, chain, target)
 * joins them with overlayfs at start; unmount at exit; remove with the container.
 */
export interface Snapshotter {
  hasLayer(chainId: string): Promise<boolean>;
  /** Bytes of the files in one layer (as unpacked). */
  layerSize(chainId: string): Promise<number>;
  /** Chain IDs of all unpacked layers. */
  listLayers(): Promise<string[]>;
  /**
   * With `split` (snapshotters that have `layerTar`), the layer keeps a tar-split record of
   * the unpack, from which `layerTar` rebuilds the exact tar, unless the recorder spilled
   * (then the caller stores the spilled tar as a blob; lib/tar/tar-split.ts).
   */
  applyLayer(chainId: string, parentChainId: string | undefined, tar: AsyncIterable<Buffer>, split?: TarSplitRecorder): Promise<{ size: number }>;
  /**
   * A pulled layer blob (gzip or plain tar) unpacked as `chainId` in one pass off the event
   * loop, checked against `diffId` (the sha256 of the tar; a mismatch is `invalid-argument`
   * "digest mismatch: ..." and leaves nothing) and kept with a tar-split record. When exact
   * rebuilding is not guaranteed the whole tar is written to `spillPath` and `spilled` is
   * true: the caller stores it as the blob and removes the file. `onConsumed` hears the
   * running total of blob bytes unpacked. A BlobFetch is fetched, resumed and verified by
   * the worker itself. Optional (snapshotters that have `layerTar`).
   */
  applyLayerBlob?(chainId: string, blob: AsyncIterable<Buffer> | BlobFetch, opts: { diffId: string; spillPath: string; onConsumed?: (bytes: number) => void }): Promise<{ size: number; spilled: boolean }>;
  /**
   * The layer's tar rebuilt from its tar-split record and unpacked files (verified against
   * the record's digest while it streams), or undefined when the layer has no record.
   */
  layerTar?(chainId: string): Promise<{ digest: string; size: number; open(): AsyncIterable<Buffer> } | undefined>;
  /**
   * Snapshotters whose layer directories do not depend on the parent (overlay) can unpack a
   * layer before its chain is known: into a staging directory, placed under its chain ID
   * later (or discarded). Staging is removed when the snapshotter starts. Absent for
   * snapshotters that copy the parent (vfs).
   */
  stageLayer?(tar: AsyncIterable<Buffer>): Promise<StagedLayer>;
  /** Moves a staged layer into place as `chainId`; when that layer exists already, the staged copy is dropped. */
  commitStaged?(staged: StagedLayer, chainId: string): Promise<void>;
  discardStaged?(staged: StagedLayer): Promise<void>;
  /**
   * Makes `dir` (a layer's files as an overlay upper dir holds them, on the snapshotter's
   * filesystem) the unpacked layer `chainId` by moving it there: 'exists' when the layer is
   * there already (then `dir` is left to the caller). Optional: without it (vfs, whose layers
   * are flattened) the layer's tar is applied instead.
   */
  adoptLayer?(chainId: string, dir: string, size: number): Promise<'adopted' | 'exists'>;
  removeLayer(chainId: string): Promise<void>;
  /** Keys of the container snapshots on disk (prepare()d, not removed) that no mount uses now. */
  idleSnapshots?(): Promise<string[]>;
  /** `rootOwner`: the upper dir's owner (a remapped container's root, so it can write). */
  prepare(key: string, opts?: { rootOwner?: { uid: number; gid: number } }): Promise<void>;
  /** `idmap`: the image layers appear shifted into that mapping (user namespaces), never copied per container. */
  /**
   * `volatile`: no durability for the container's changes (overlay's `volatile`: its unmount
   * does not sync the whole filesystem); such a snapshot cannot be mounted again after a
   * crash, so only for containers removed after one run (build steps). Ignored where the
   * kernel lacks it.
   */
  mount(key: string, chainIds: readonly string[], target: string, opts?: { idmap?: IdentityMapping; volatile?: boolean }): Promise<void>;
  /** Optional: the layers mounted read-only without a snapshot (no prepare/remove; unmount as usual). */
  mountReadOnly?(chainIds: readonly string[], target: string): Promise<void>;
  unmount(target: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** Reads a file from the top-most layer that has it (for /etc/passwd lookups), or undefined. */
  readFile(chainIds: readonly string[], path: string): Promise<string | undefined>;
}

/** A layer unpacked into a staging directory (see Snapshotter.stageLayer). */
export interface StagedLayer { readonly dir: string; readonly size: number }

export interface RuntimeConfig { name: string; path: string; args: string[] }

/** conmon's role: start the runtime for a container or exec, keep its stdio, record its exit. */
export interface Monitor {
  /** Runs `<runtime> create` under a new monitor; resolves with the container's pid. */
  create(opts: { id: string; bundle: string; runtime: RuntimeConfig; logPath: string; tty: boolean; stdin: boolean; stdinOnce: boolean; name: string }): Promise<{ pid: number }>;
  /** Runs `<runtime> exec` for one process; `started` resolves with its pid, `exited` with its exit code. */
  exec(opts: { containerId: string; execId: string; dir: string; runtime: RuntimeConfig; process: Process; logPath: string; tty: boolean; stdin: boolean; beforeStart?: (stdin: StdinWriter | undefined) => Promise<void> }): Promise<{ pid: number; exited: Promise<number>; stdin: StdinWriter | undefined }>;
  /** Connects to a running container's stdin. */
  openStdin(cuuid: string): StdinWriter;
  resize(bundleOrDir: string, height: number, width: number): Promise<void>;
  /** Asks the monitor to reopen its log file (after pier renamed it for rotation). */
  reopenLog(bundle: string): Promise<void>;
  /** Exit code written by the monitor, undefined while the container runs. */
  readExit(id: string): Promise<number | undefined>;
  clearExit(id: string): Promise<void>;
  /** Calls back once per exit file that appears. */
  watchExits(cb: (id: string, code: number) => void): void;
  /** Whether the monitor process for a container is still alive. */
  isAlive(id: string, bundle: string): Promise<boolean>;
}

export interface StdinWriter {
  write(data: Buffer): Promise<void>;
  close(): void;
}

/** The OCI runtime CLI (runc, crun, runsc). */
export interface OciRuntime {
  start(rt: RuntimeConfig, id: string): Promise<void>;
  kill(rt: RuntimeConfig, id: string, signal: number, all?: boolean): Promise<void>;
  pause(rt: RuntimeConfig, id: string): Promise<void>;
  /** Whether the container's processes are frozen (undefined when unknown). */
  isPaused(rt: RuntimeConfig, id: string): Promise<boolean | undefined>;
  resume(rt: RuntimeConfig, id: string): Promise<void>;
  delete(rt: RuntimeConfig, id: string): Promise<void>;
  pids(rt: RuntimeConfig, id: string): Promise<number[]>;
  writeBundle(bundle: string, spec: Spec): Promise<void>;
}

/** Reads conmon's k8s-file logs: from an offset, following, and from the end. */
export interface LogReader {
  size(path: string): Promise<number>;
  /**
   * Streams raw lines from `offset`; with `follow`, keeps going until `follow()` says stop and
   * the file is drained. `wake` settles when `follow()` may have changed (the container exited),
   * so the end is seen at once instead of at the next poll.
   */
  lines(path: string, opts: { offset?: number; follow?: () => boolean; signal?: AbortSignal; wake?: Promise<unknown> }): AsyncIterable<Buffer>;
  /** The last `n` lines. */
  tail(path: string, n: number): Promise<{ lines: Buffer[]; end: number }>;
}

/** Credentials for one registry, as the CLI sends them in X-Registry-Auth. */
export interface RegistryCredentials { username?: string; password?: string; identitytoken?: string; registrytoken?: string }

/** One repository of one registry (`127.0.0.1:5000` + `team/app`), with the credentials to use. */
export interface RegistryRepo { domain: string; path: string; auth?: RegistryCredentials }

export interface RemoteManifest { digest: string; mediaType: string; bytes: Buffer }

/**
 * An OCI distribution registry seen from the client side (issue 4). The adapter does the
 * `/v2/` probe, Bearer/Basic auth, TLS or plain HTTP, retries and Range resumes; every blob it
 * streams is verified against its digest before the stream ends (a mismatch throws).
 */
export interface RegistryRemote {
  /** Fetches a manifest or index by tag or digest; not-found / unauthenticated errors in Docker's words. */
  getManifest(repo: RegistryRepo, reference: string): Promise<RemoteManifest>;
  /** A blob's bytes, verified while streaming; `onBytes` sees the running count. */
  openBlob(repo: RegistryRepo, digest: string, opts?: { size?: number; onBytes?: (n: number) => void }): AsyncIterable<Buffer>;
  /** The same blob for a worker to fetch and verify itself (Snapshotter.applyLayerBlob); optional. */
  blobFetch?(repo: RegistryRepo, digest: string, opts?: { size?: number; onBytes?: (n: number) => void; onComplete?: () => void }): BlobFetch;
  hasBlob(repo: RegistryRepo, digest: string): Promise<boolean>;
  /** Cross-repository mount; false when the registry answered with an upload instead. */
  mountBlob(repo: RegistryRepo, digest: string, fromPath: string): Promise<boolean>;
  /** Uploads a stream whose digest is learnt while sending (POST, PATCH, PUT ?digest=). */
  pushBlob(repo: RegistryRepo, data: AsyncIterable<Buffer>, digest: () => string): Promise<void>;
  putManifest(repo: RegistryRepo, tag: string, mediaType: string, bytes: Buffer): Promise<string>;
  /** Checks credentials against `/v2/` (and a token realm if the registry has one). */
  login(domain: string, auth: RegistryCredentials): Promise<void>;
  search(domain: string, term: string, limit: number, auth?: RegistryCredentials): Promise<Array<{ name: string; description: string; star_count: number; is_official: boolean; is_automated: boolean }>>;
}

/** compressed blob digest (per registry repository) ↔ diff ID, so pushes reuse what was pulled or pushed before. */
export interface BlobDigestMap {
  compressedFor(diffId: string): Promise<Array<{ digest: string; repo: string; size: number }>>;
  record(diffId: string, entry: { digest: string; repo: string; size: number }): Promise<void>;
}

// ---- networking (issue 6, docs/design/networking.md) ----

/** Network records: one small JSON file each, written atomically. */
export interface NetworkStore {
  loadAll(): Promise<NetworkRecord[]>;
  save(n: NetworkRecord): Promise<void>;
  remove(id: string): Promise<void>;
}

/** One veth pair: `hostIf` on `bridge` in the host, `ifName` inside the namespace of `pid`. */
export interface VethConfig { hostIf: string; bridge: string; pid: number; ifName: string; address: string; prefixLen: number; mac: string; mtu: number; defaultGateway?: string }

/** The whole NAT/filter state of one daemon (its own nftables table), rebuilt as a unit. */
export interface NetworkRules {
  bridges: Array<{ name: string; subnet: string; internal: boolean }>;
  ports: Array<{ proto: 'tcp' | 'udp' | 'sctp'; hostIp: string; hostPort: number; ip: string; port: number }>;
}

/** Host networking: bridges, veth pairs into a container's namespace, NAT and isolation rules. */
export interface NetworkDriver {
  /** Creates the bridge with its gateway address if missing (idempotent), and brings it up. */
  ensureBridge(b: { name: string; gateway: string; prefixLen: number; mtu: number }): Promise<void>;
  removeBridge(name: string): Promise<void>;
  addVeth(v: VethConfig): Promise<void>;
  removeLink(name: string): Promise<void>;
  /** Host links whose names start with one of the prefixes. */
  links(prefixes: string[]): Promise<string[]>;
  applyRules(r: NetworkRules): Promise<void>;
  removeRules(): Promise<void>;
  /** Destination CIDRs of the host's IPv4 routes (to pick subnets nobody uses). */
  hostRoutes(): Promise<string[]>;
  /** Rate limit (bits per second) both ways: tbf on the host end and on the container end. */
  shape(link: { hostIf: string; pid: number; ifName: string }, rateBps: number): Promise<void>;
}

/** Where a proxied connection to a published port goes, asked per connection (undefined: refuse it). */
export type ProxyTarget = () => { ip: string; port: number } | undefined;

/** Holds published host ports (a listening socket per port), so conflicts fail at start. */
export interface PortReserver {
  /**
   * Reserves the port (0 = an ephemeral one) and resolves with it; rejects with a conflict.
   * With `forward`, what reaches the socket is relayed there (IPv6 host addresses, which the
   * IPv4 DNAT rules do not cover).
   */
  reserve(proto: 'tcp' | 'udp' | 'sctp', hostIp: string, port: number, forward?: ProxyTarget): Promise<number>;
  release(proto: 'tcp' | 'udp' | 'sctp', hostIp: string, port: number): void;
}

/**
 * `forward`: relay to the host's resolvers; `{ forward: [...] }`: relay to these servers (the
 * asking container's `--dns`).
 */
export type DnsAnswer = { addrs: string[] } | 'nxdomain' | 'forward' | { forward: string[] };

/** The embedded DNS server: one UDP socket per address, answers from `resolve`. */
export interface DnsServer {
  listen(ip: string, resolve: (client: string, name: string, type: number) => DnsAnswer): Promise<void>;
  close(ip: string): Promise<void>;
}

// ---- volumes (issue 7, docs/design/volumes.md) ----

/** A volume as its driver records it. `options` are the local driver's `type`, `device`, `o`. */
export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** RFC3339 */
  createdAt: string;
}

/** The local volume driver: `<root>/volumes/<name>/_data` plus one JSON record per volume. */
export interface VolumeDriver {
  loadAll(): Promise<VolumeRecord[]>;
  /** Makes the data directory, then publishes the record atomically. */
  create(v: VolumeRecord): Promise<void>;
  /** Unpublishes the record, then deletes the data (refuses while mounted). */
  remove(name: string): Promise<void>;
  /** The host path containers bind (`Mountpoint`). */
  mountpoint(name: string): string;
  /** Mounts a volume that has `type`/`device`/`o` options on its data directory (idempotent). */
  mount(v: VolumeRecord): Promise<void>;
  unmount(v: VolumeRecord): Promise<void>;
  isEmpty(name: string): Promise<boolean>;
  size(name: string): Promise<number>;
  /** Copies a directory's content (owners, modes, links, xattrs) into the volume. */
  copyInto(name: string, from: string): Promise<void>;
}
