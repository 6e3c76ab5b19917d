// docker-compose 1.29 (Debian's, docker-py 5) against pierd (issue 7, "What it must show"):
// a two-service project with a named volume, a user network and a published port, brought
// up with `up -d`, checked from inside (service-name DNS) and outside (127.0.0.1), and taken
// down with `down -v`, which must leave no container, network or volume of the project.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, waitFor, type Engine } from './harness.js';

const hasCompose = spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status === 0;

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** HTTP GET over a raw TCP connection from this process; resolves with the body. */
function httpGet(host: string, port: number, path: string, timeout = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let data = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`timeout connecting to ${host}:${port}`)); }, timeout);
    s.on('connect', () => s.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    s.setEncoding('utf8').on('data', (d: string) => { data += d; });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.on('close', () => { clearTimeout(t); resolve(data.split('\r\n\r\n').slice(1).join('\r\n\r\n')); });
  });
}

/** A /24 of the user-network test range (10.214.0.0/16) not routed on this host right now. */
function freeSubnet(): string {
  const routes = readFileSync('/proc/net/route', 'utf8');
  for (;;) {
    const k = 100 + Math.floor(Math.random() * 150);
    const hex = (0x0a | (0xd6 << 8) | (k << 16)).toString(16).toUpperCase().padStart(8, '0');
    if (!routes.includes(`\t${hex}\t`)) return `10.214.${k}.0/24`;
  }
}

describe('docker-compose 1.29', { skip: requires(...engineRequirements, 'pier-only') || (!hasCompose && 'docker-compose is not installed') }, () => {
  let h: Engine;
  let dir: string;
  before(async () => {
    h = await startPierd();
    dir = mkdtempSync('/tmp/pier-compose-');
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await h?.stop();
  });

  it('up -d: two services, a named volume, a user network and a published port; down -v leaves nothing', async () => {
    const project = `itc${Math.random().toString(16).slice(2, 8)}`;
    const port = await freePort();
    const token = `hello-from-${project}`;
    // `web` writes the page into the named volume and serves it; `client` fetches it by the
    // service name over the project's user network (busybox wget under `timeout`: its own -T
    // crashes in this build) and then idles.
    writeFileSync(join(dir, 'docker-compose.yml'), [
      "version: '2.4'",
      'services:',
      '  web:',
      `    image: ${h.image}`,
      `    command: ["sh", "-c", "echo ${token} > /www/index.html && exec httpd -f -p 8080 -h /www"]`,
      '    volumes:',
      '      - site:/www',
      '    networks: [back]',
      '    stop_grace_period: 1s', // httpd and sleep as pid 1 ignore SIGTERM
      '    ports:',
      `      - "127.0.0.1:${port}:8080"`,
      '  client:',
      `    image: ${h.image}`,
      '    command: ["sh", "-c", "until timeout 3 wget -qO- http://web:8080/index.html; do sleep 0.5; done; exec sleep 3600"]',
      '    networks: [back]',
      '    depends_on: [web]',
      '    stop_grace_period: 1s',
      'networks:',
      '  back:',
      '    ipam:',
      '      config:',
      `        - subnet: ${freeSubnet()}`,
      'volumes:',
      '  site: {}',
      '',
    ].join('\n'));
    const compose = (args: string[]) => {
      const r = spawnSync('docker-compose', args, {
        cwd: dir, encoding: 'utf8', timeout: 120_000,
        env: { ...process.env, DOCKER_HOST: h.host, COMPOSE_PROJECT_NAME: project, COMPOSE_INTERACTIVE_NO_CLI: '1', DOCKER_CONFIG: join(dir, 'cli') },
      });
      return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };
    const ids = async (kind: 'ps -a' | 'network ls' | 'volume ls') =>
      (await h.ok([...kind.split(' '), '-q', '--filter', `label=com.docker.compose.project=${project}`])).split('\n').filter(Boolean);
    try {
      let r = compose(['up', '-d']);
      assert.equal(r.code, 0, `up -d failed: ${r.stderr}\n${h.log()}`);

      // compose's objects, with compose's names and labels
      r = compose(['ps']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${project}_web_1 .* Up .*127\\.0\\.0\\.1:${port}->8080/tcp`));
      assert.match(r.stdout, new RegExp(`${project}_client_1 .* Up`));
      assert.equal((await ids('ps -a')).length, 2);
      assert.equal(await h.ok(['network', 'ls', '-q', '--filter', `name=${project}_back`, '--format', '{{.Name}}']), `${project}_back`);
      assert.equal(await h.ok(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]), `${project}_site`);

      // the published port, from this process
      const body = await waitFor(async () => (await httpGet('127.0.0.1', port, '/index.html')).trim() || undefined, { timeout: 15_000, message: 'published port' });
      assert.equal(body, token);

      // the client reached web by its service name
      await waitFor(() => compose(['logs', '--no-color', 'client']).stdout.includes(token), { timeout: 20_000, message: () => `client logs: ${compose(['logs', '--no-color']).stdout}` });
      // ... and does again, by the service name and by the container name
      assert.equal(await h.ok(['exec', `${project}_client_1`, 'sh', '-c', 'timeout 3 wget -qO- http://web:8080/index.html']), token);
      assert.equal(await h.ok(['exec', `${project}_client_1`, 'sh', '-c', `timeout 3 wget -qO- http://${project}_web_1:8080/index.html`]), token);

      // the page lives in the named volume
      assert.equal(await h.ok(['run', '--rm', '--network', 'none', '-v', `${project}_site:/v`, h.image, 'cat', '/v/index.html']), token);

      r = compose(['down', '-v']);
      assert.equal(r.code, 0, `down -v failed: ${r.stderr}\n${h.log()}`);
      assert.deepEqual(await ids('ps -a'), [], 'containers left');
      assert.deepEqual(await ids('network ls'), [], 'networks left');
      assert.deepEqual(await ids('volume ls'), [], 'volumes left');
      assert.equal(await h.ok(['network', 'ls', '-q', '--filter', `name=${project}`]), '');
      assert.equal(await h.ok(['volume', 'ls', '-q', '--filter', `name=${project}`]), '');
      await assert.rejects(httpGet('127.0.0.1', port, '/index.html', 1000), 'the published port is closed after down');
    } finally {
      compose(['down', '-v', '-t', '1']);
    }
  });
});
