/**
 * Wire shapes (Engine API 1.41, field names exactly as on the wire) that the pier client
 * sends and reads. Only the fields the client touches are typed; responses keep every other
 * field the daemon sends (the CLI prints inspect objects verbatim).
 */

export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface MountPointSummary {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Driver?: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[] | null;
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: PortSummary[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: MountPointSummary[] | null;
}

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  ExitCode: number;
  Error?: string;
  [k: string]: unknown;
}

/** GET /containers/{id}/json, the fields the CLI decides on; the rest stays untyped. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  State: ContainerState;
  Config: { Tty: boolean; OpenStdin: boolean; [k: string]: unknown };
  HostConfig: { AutoRemove?: boolean; [k: string]: unknown };
  [k: string]: unknown;
}

export interface HostConfigRequest {
  Binds?: string[] | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
  RestartPolicy?: { Name: string; MaximumRetryCount: number };
  AutoRemove?: boolean;
  Runtime?: string;
  Privileged?: boolean;
  Init?: boolean | null;
  Memory?: number;
  NanoCpus?: number;
  ExtraHosts?: string[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  LogConfig?: { Type: string; Config: Record<string, string> };
  ConsoleSize?: [number, number];
  [k: string]: unknown;
}

export interface ContainerCreateRequest {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig: HostConfigRequest;
  NetworkingConfig: { EndpointsConfig: Record<string, unknown> };
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[] | null;
}

export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message: string } | null;
}

export interface ExecCreateRequest {
  User: string;
  Privileged: boolean;
  Tty: boolean;
  AttachStdin: boolean;
  AttachStderr: boolean;
  AttachStdout: boolean;
  Detach: boolean;
  DetachKeys: string;
  Env: string[] | null;
  WorkingDir: string;
  Cmd: string[];
}

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ContainerID: string;
  [k: string]: unknown;
}

export interface ContainerTopResponse {
  Titles: string[];
  Processes: string[][] | null;
}

export interface ImageDeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

export interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> | null };
  scope?: string;
  time: number;
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

/** One message of a pull/push/import/load progress stream (jsonmessage.JSONMessage). */
export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

export interface VersionResponse {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  BuildTime?: string;
  Experimental?: boolean;
  Platform?: { Name: string };
  Components?: Array<{ Name: string; Version: string; Details?: Record<string, string> }>;
  [k: string]: unknown;
}

export type InfoResponse = Record<string, unknown>;
