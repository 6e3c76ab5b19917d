/** Container records → the Engine API's inspect and list shapes (swagger v1.41). */
import { type ContainerRecord, statusText, shortId, mountsWire } from '../../core/container/index.js';

export function containerInspect(c: ContainerRecord, extra: { driver: string; rootfsDir: string; upperDir: string; resolvConf: string; hostsPath: string; hostnamePath: string }): Record<string, unknown> {
  const s = c.state;
  const networks: Record<string, unknown> = {};
  for (const [name, ep] of Object.entries(c.endpoints)) {
    networks[name] = {
      IPAMConfig: ep.IPAMConfig ?? null, Links: ep.Links ?? null, Aliases: ep.Aliases ?? null,
      NetworkID: ep.NetworkID ?? '', EndpointID: ep.EndpointID ?? '', Gateway: ep.Gateway ?? '', IPAddress: ep.IPAddress ?? '',
      IPPrefixLen: ep.IPPrefixLen ?? 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: ep.MacAddress ?? '',
      DriverOpts: ep.DriverOpts ?? null,
    };
  }
  return {
    Id: c.id,
    Created: c.created,
    Path: c.path,
    Args: c.args,
    State: {
      Status: s.status,
      Running: s.status === 'running' || s.status === 'paused',
      Paused: s.status === 'paused',
      Restarting: s.status === 'restarting',
      OOMKilled: s.oomKilled,
      Dead: s.status === 'dead',
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt,
      FinishedAt: s.finishedAt,
      ...(s.health ? {
        Health: {
          Status: s.health.status,
          FailingStreak: s.health.failingStreak,
          Log: s.health.log.map((l) => ({ Start: l.start, End: l.end, ExitCode: l.exitCode, Output: l.output })),
        },
      } : {}),
    },
    Image: c.imageId,
    ResolvConfPath: extra.resolvConf,
    HostnamePath: extra.hostnamePath,
    HostsPath: extra.hostsPath,
    LogPath: c.logPath,
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: extra.driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: c.execIds.length ? c.execIds : null,
    HostConfig: hostConfigOut(c),
    GraphDriver: { Data: { MergedDir: extra.rootfsDir, UpperDir: extra.upperDir }, Name: extra.driver },
    Mounts: mountsWire(c.mounts),
    Config: {
      Hostname: c.config.Hostname ?? '',
      Domainname: c.config.Domainname ?? '',
      User: c.config.User ?? '',
      AttachStdin: !!c.config.AttachStdin,
      AttachStdout: !!c.config.AttachStdout,
      AttachStderr: !!c.config.AttachStderr,
      ...(c.config.ExposedPorts ? { ExposedPorts: c.config.ExposedPorts } : {}),
      Tty: !!c.config.Tty,
      OpenStdin: !!c.config.OpenStdin,
      StdinOnce: !!c.config.StdinOnce,
      Env: c.config.Env ?? null,
      Cmd: c.config.Cmd ?? null,
      ...(c.config.Healthcheck ? { Healthcheck: c.config.Healthcheck } : {}),
      Image: c.config.Image ?? '',
      Volumes: c.config.Volumes ?? null,
      WorkingDir: c.config.WorkingDir ?? '',
      Entrypoint: c.config.Entrypoint ?? null,
      OnBuild: c.config.OnBuild ?? null,
      Labels: c.config.Labels ?? {},
      ...(c.config.StopSignal ? { StopSignal: c.config.StopSignal } : {}),
      ...(c.config.StopTimeout !== undefined && c.config.StopTimeout !== null ? { StopTimeout: c.config.StopTimeout } : {}),
    },
    NetworkSettings: {
      Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
      Ports: c.ports ?? {}, SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
      EndpointID: c.endpoints.bridge?.EndpointID ?? '', Gateway: c.endpoints.bridge?.Gateway ?? '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
      IPAddress: c.endpoints.bridge?.IPAddress ?? '', IPPrefixLen: c.endpoints.bridge?.IPPrefixLen ?? 0,
      IPv6Gateway: '', MacAddress: c.endpoints.bridge?.MacAddress ?? '',
      Networks: networks,
    },
  };
}

function hostConfigOut(c: ContainerRecord): Record<string, unknown> {
  const hc = c.hostConfig;
  return {
    Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'bridge', PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null,
    CapAdd: null, CapDrop: null, CgroupnsMode: 'host', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
    IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false,
    ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: c.runtime,
    ConsoleSize: [0, 0], Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0,
    BlkioWeightDevice: [], BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null,
    BlkioDeviceWriteIOps: null, CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: '',
    CpusetMems: '', Devices: [], DeviceCgroupRules: null, DeviceRequests: null, KernelMemory: 0, KernelMemoryTCP: 0,
    MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null, OomKillDisable: false, PidsLimit: null, Ulimits: null,
    CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0, MaskedPaths: null, ReadonlyPaths: null,
    ...hc,
  };
}

/** ps's Command column: entrypoint + args, args with spaces single-quoted. */
export function commandString(c: ContainerRecord): string {
  return [c.path, ...c.args].map((a, i) => (i > 0 && /\s/.test(a) ? `'${a}'` : a)).join(' ');
}

export function containerSummary(c: ContainerRecord, now: number, imageName: string): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  for (const [name, ep] of Object.entries(c.endpoints)) networks[name] = { NetworkID: ep.NetworkID ?? '', EndpointID: ep.EndpointID ?? '', Gateway: ep.Gateway ?? '', IPAddress: ep.IPAddress ?? '', IPPrefixLen: ep.IPPrefixLen ?? 0, MacAddress: ep.MacAddress ?? '', Aliases: ep.Aliases ?? null };
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: imageName,
    ImageID: c.imageId,
    Command: commandString(c),
    Created: Math.floor(Date.parse(c.created) / 1000),
    Ports: portsSummary(c),
    Labels: c.config.Labels ?? {},
    State: c.state.status,
    Status: statusText(c, now),
    HostConfig: { NetworkMode: c.hostConfig.NetworkMode ?? 'bridge' },
    NetworkSettings: { Networks: networks },
    Mounts: mountsWire(c.mounts),
  };
}

export { shortId };

/** ps's `Ports` list: one entry per published binding, exposed-only ports without PublicPort. */
function portsSummary(c: ContainerRecord): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [key, list] of Object.entries(c.ports ?? {})) {
    const [port = '0', type = 'tcp'] = key.split('/');
    if (!list?.length) { out.push({ PrivatePort: Number(port), Type: type }); continue; }
    for (const b of list) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}
