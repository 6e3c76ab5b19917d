// Leak check (issue 2, "What it must show"): after exercising every path that mounts, spawns
// conmon or leaves runtime state, and removing everything, nothing is left under the temporary
// root: no mounts (/proc/self/mountinfo), no conmon naming the root, no container processes,
// no runc state under the exec root. Named zz- so it runs last.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPierd, requires, engineRequirements, waitFor, mountsUnder, conmonsUnder, runcStateUnder, processesRootedUnder, type Engine } from './harness.js';

describe('no leftovers', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine | undefined;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });

  it('removing every container leaves no mounts, conmon, container processes or runc state', async () => {
    const e = h!;
    const n = (x: string) => e.name(x);
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
    await waitFor(() => mountsUnder(root).length === 0 && conmonsUnder(root).length === 0 && processesRootedUnder(root).length === 0 && runcStateUnder(e.execRoot!).length === 0, {
      timeout: 5000,
      message: () => `leftovers:\n  ${e.leaks().join('\n  ')}`,
    });

    // and after pierd stops (stop() throws on leftovers)
    h = undefined;
    await e.stop();
  });
});
