// Leak check (issue 2, "What it must show"): after exercising every path that mounts, spawns
// conmon or leaves runtime state, and removing everything, nothing is left under the temporary
// root: no mounts (/proc/self/mountinfo), no conmon naming the root, no container processes,
// no runc state under the exec root, and no cgroup under the daemon's own --cgroup-parent in any
// mounted hierarchy (v1 controllers, name=systemd, the cgroup2 one at /sys/fs/cgroup/unified).
// Named zz- so it runs last.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startPierd, requires, engineRequirements, waitFor, mountsUnder, conmonsUnder, runcStateUnder, processesRootedUnder, cgroupsUnder, cgroupMounts, type Engine,
} from './harness.js';

describe('no leftovers', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine | undefined;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });

  it('removing every container leaves no mounts, conmon, container processes, runc state or cgroups', async () => {
    const e = h!;
    const n = (x: string) => e.name(x);
    const parent = e.cgroupParent!;
    // the containers' cgroups live under this daemon's own parent, in every hierarchy
    const probe = n('lk-cg');
    await e.ok(['run', '-d', '--name', probe, e.image, 'sleep', '1000']);
    const id = await e.ok(['inspect', '-f', '{{.Id}}', probe]);
    assert.match(await e.ok(['exec', probe, 'cat', '/proc/self/cgroup']), new RegExp(`^\\d+:memory:${parent}/${id}$`, 'm'));
    const dirs = cgroupsUnder(parent);
    for (const m of cgroupMounts()) assert.ok(dirs.includes(join(m, parent, id)), `${m}${parent}/${id} exists`);
    await e.ok(['rm', '-f', probe]);
    // a failed create (runc create fails inside the namespaces), build RUN containers
    assert.equal((await e.docker(['run', '--rm', '-v', '/etc/hostname:/bin', e.image, 'true'])).code, 125);
    const ctx = mkdtempSync(join(e.tmp, 'lk-ctx-'));
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${e.image}\nRUN echo one > /one\nRUN false || true\n`);
    const tag = `it-lk-build-${Date.now()}`;
    await e.ok(['build', '--network', 'none', '-q', '-t', tag, ctx], { env: { DOCKER_BUILDKIT: '0' }, timeout: 120_000 });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${e.image}\nRUN exit 3\n`);
    assert.notEqual((await e.docker(['build', '--network', 'none', '-q', ctx], { env: { DOCKER_BUILDKIT: '0' }, timeout: 120_000 })).code, 0);
    await e.ok(['rmi', tag]);
    // foreground, --rm, failing start, tty
    await e.ok(['run', '--rm', e.image, 'true']);
    assert.equal((await e.docker(['run', '--rm', e.image, 'it-nosuchcmd'])).code, 127);
    const failed = n('lk-failed');
    assert.equal((await e.docker(['run', '--name', failed, e.image, 'it-nosuchcmd'])).code, 127);
    if (!requires('script')) assert.equal((await e.dockerTty(['run', '-it', '--rm', e.image, 'true'])).code, 0);
    // stopped, killed, restarted, paused, with a running exec, never started
    const stopped = n('lk-stopped');
    await e.ok(['run', '-d', '--name', stopped, e.image, 'sleep', '1000']);
    await e.ok(['stop', '-t', '0', stopped]);
    const running = n('lk-running');
    await e.ok(['run', '-d', '--name', running, e.image, 'sleep', '1000']);
    await e.ok(['restart', '-t', '0', running]);
    await e.ok(['exec', '-d', running, 'sleep', '1000']);
    await e.ok(['exec', running, 'true']);
    const paused = n('lk-paused');
    await e.ok(['run', '-d', '--name', paused, e.image, 'sleep', '1000']);
    await e.ok(['pause', paused]);
    const created = n('lk-created');
    await e.ok(['create', '--name', created, e.image, 'true']);
    // a container that survives a pierd restart, removed by the new pierd
    const survivor = n('lk-survivor');
    await e.ok(['run', '-d', '--name', survivor, e.image, 'sleep', '1000']);
    await e.kill9();
    await e.restart();

    await e.ok(['rm', '-f', failed, stopped, running, paused, created, survivor]);
    assert.equal(await e.ok(['ps', '-a', '-q']), '');

    // while pierd still runs: nothing of the containers remains
    const root = e.tmp;
    await waitFor(() => mountsUnder(root).length === 0 && conmonsUnder(root).length === 0 && processesRootedUnder(root).length === 0 && runcStateUnder(e.execRoot!).length === 0
      && cgroupsUnder(parent).length === 0, {
      timeout: 5000,
      message: () => `leftovers:\n  ${e.leaks().join('\n  ')}`,
    });

    // and after pierd stops (stop() throws on leftovers)
    h = undefined;
    await e.stop();
  });
});
