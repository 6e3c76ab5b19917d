export * from './cgroup-manager.js';
export * from './host-probe.js';
export { parseBlkioV1, parseIoStatV2, parseNetDev, systemCpuFromProcStat, sampleV1, sampleV2, oomKilledV1, oomKilledV2 } from './cgroup-readers.js';
