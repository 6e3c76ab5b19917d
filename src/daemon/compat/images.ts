/** Image records → ImageSummary and ImageInspect (API 1.41 shapes). */
import type { ImageRecord } from '../../core/image/index.js';

const emptyConfig = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false,
  OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null, WorkingDir: '', Entrypoint: null,
  OnBuild: null, Labels: null,
};

export function imageSummary(img: ImageRecord, tags: string[], containers: number): Record<string, unknown> {
  return {
    Containers: containers,
    Created: Math.floor(Date.parse(img.config.created ?? '1970-01-01T00:00:00Z') / 1000),
    Id: img.id,
    Labels: img.config.config?.Labels ?? null,
    ParentId: img.parent,
    RepoDigests: img.repoDigests,
    RepoTags: tags,
    SharedSize: -1,
    Size: img.size,
    VirtualSize: img.size,
  };
}

export function imageInspect(img: ImageRecord, tags: string[], graph: { driver: string; dirs: string[] }): Record<string, unknown> {
  const cfg = img.config;
  return {
    Id: img.id,
    RepoTags: tags,
    RepoDigests: img.repoDigests,
    Parent: img.parent,
    Comment: cfg.comment ?? (cfg.history?.[cfg.history.length - 1]?.comment ?? ''),
    Created: cfg.created ?? '1970-01-01T00:00:00Z',
    Container: cfg.container ?? '',
    ContainerConfig: { ...emptyConfig, ...(cfg.container_config ?? {}) },
    DockerVersion: cfg.docker_version ?? '',
    Author: cfg.author ?? '',
    Config: { ...emptyConfig, ...(cfg.config ?? {}) },
    Architecture: cfg.architecture,
    ...(cfg.variant ? { Variant: cfg.variant } : {}),
    Os: cfg.os,
    Size: img.size,
    VirtualSize: img.size,
    GraphDriver: { Data: { LowerDir: graph.dirs.join(':') }, Name: graph.driver },
    RootFS: { Type: 'layers', Layers: cfg.rootfs.diff_ids },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}
