import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleV1, sampleV2, systemCpuFromProcStat, parseNetDev, oomKilledV1, oomKilledV2 } from './cgroup-readers.js';
import { devMajorMinor } from './host-probe.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cg-'));
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), t);
  }
  return root;
}
const PROC_STAT = 'cpu  100 0 50 800 10 0 5 7 0 0\ncpu0 50 0 25 400 5 0 2 3 0 0\n';
const NET_DEV = 'Inter-|   Receive\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 1500 12 0 1 0 0 0 0 700 9 0 0 0 0 0 0\n';

test('/proc/stat: the first 7 fields of the cpu line in ns; net/dev without lo', () => {
  assert.equal(systemCpuFromProcStat(PROC_STAT), (100 + 50 + 800 + 10 + 5) * 1e7);
  assert.deepEqual(parseNetDev(NET_DEV), { eth0: { rx_bytes: 1500, rx_packets: 12, rx_errors: 0, rx_dropped: 1, tx_bytes: 700, tx_packets: 9, tx_errors: 0, tx_dropped: 0 } });
});

test('cgroup v1 reader (fake files)', async () => {
  const p = '/pier/abc';
  const root = tree({
    [`cg/cpuacct${p}/cpuacct.usage`]: '5000000\n', [`cg/cpuacct${p}/cpuacct.usage_percpu`]: '3000000 2000000 \n',
    [`cg/cpuacct${p}/cpuacct.stat`]: 'user 3\nsystem 1\n', [`cg/cpu${p}/cpu.stat`]: 'nr_periods 10\nnr_throttled 4\nthrottled_time 900\n',
    [`cg/memory${p}/memory.usage_in_bytes`]: '4194304\n', [`cg/memory${p}/memory.max_usage_in_bytes`]: '5000000\n',
    [`cg/memory${p}/memory.failcnt`]: '0\n', [`cg/memory${p}/memory.limit_in_bytes`]: '9223372036854771712\n',
    [`cg/memory${p}/memory.stat`]: 'cache 1024\ntotal_inactive_file 1048576\n', [`cg/memory${p}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
    [`cg/blkio${p}/blkio.throttle.io_service_bytes_recursive`]: '254:0 Read 4096\n254:0 Write 8192\n254:0 Total 12288\nTotal 12288\n',
    [`cg/pids${p}/pids.current`]: '3\n', [`cg/pids${p}/pids.max`]: 'max\n', 'proc/stat': PROC_STAT, 'proc/42/net/dev': NET_DEV,
  });
  try {
    const s = await sampleV1({ cgroupRoot: join(root, 'cg'), procRoot: join(root, 'proc'), memTotal: 1 << 30, onlineCpus: 2 }, p, 42);
    assert.deepEqual(s.cpu, { total: 5000000, percpu: [3000000, 2000000], kernel: 1e7, user: 3e7, periods: 10, throttledPeriods: 4, throttledTime: 900 });
    assert.equal(s.memory.limit, 1 << 30, 'no limit: host memory');
    assert.equal(s.memory.usage, 4194304);
    assert.equal(s.memory.stats.total_inactive_file, 1048576);
    assert.deepEqual(s.blkio.map((b) => b.op), ['Read', 'Write', 'Total']);
    assert.deepEqual(s.pids, { current: 3 });
    assert.equal(s.networks.eth0?.rx_bytes, 1500);
    assert.equal(await oomKilledV1(join(root, 'cg'), p), true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cgroup v2 reader (fake files)', async () => {
  const p = '/pier/abc';
  const root = tree({
    [`cg${p}/cpu.stat`]: 'usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 7\nnr_throttled 2\nthrottled_usec 40\n',
    [`cg${p}/memory.current`]: '8388608\n', [`cg${p}/memory.max`]: '67108864\n', [`cg${p}/memory.stat`]: 'anon 100\ninactive_file 4096\n',
    [`cg${p}/memory.events`]: 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n',
    [`cg${p}/io.stat`]: '254:0 rbytes=4096 wbytes=1024 rios=1 wios=1 dbytes=0 dios=0\n', [`cg${p}/pids.current`]: '2\n', [`cg${p}/pids.max`]: '20\n',
    'proc/stat': PROC_STAT,
  });
  try {
    const s = await sampleV2({ cgroupRoot: join(root, 'cg'), procRoot: join(root, 'proc'), memTotal: 1 << 30, onlineCpus: 4 }, p, 0);
    assert.equal(s.version, 2);
    assert.deepEqual(s.cpu, { total: 5000000, percpu: [], kernel: 2000000, user: 3000000, periods: 7, throttledPeriods: 2, throttledTime: 40000 });
    assert.deepEqual(s.memory, { usage: 8388608, limit: 67108864, stats: { anon: 100, inactive_file: 4096 } });
    assert.deepEqual(s.blkio, [{ major: 254, minor: 0, op: 'read', value: 4096 }, { major: 254, minor: 0, op: 'write', value: 1024 }]);
    assert.deepEqual(s.pids, { current: 2, limit: 20 });
    assert.deepEqual(s.networks, {});
    assert.equal(await oomKilledV2(join(root, 'cg'), p), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('dev_t decoding', () => {
  assert.deepEqual(devMajorMinor(0x0700), { major: 7, minor: 0 });
  assert.deepEqual(devMajorMinor((254 << 8) | 1), { major: 254, minor: 1 });
  assert.deepEqual(devMajorMinor((259 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12)), { major: 259, minor: 300 });
});
