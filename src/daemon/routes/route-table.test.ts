import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../http/index.js';
import type { ExecService } from '../../services/index.js';
import { containerRoutes, execRoutes, imageRoutes, systemRoutes, type ContainerRoutesDeps, type ImageRoutesDeps, type SystemRoutesDeps } from './index.js';

/** The daemon's real route table; the dependencies are never used because no handler runs. */
function realRouter(): Router {
  const r = new Router();
  containerRoutes(r, {} as ContainerRoutesDeps);
  execRoutes(r, {} as ExecService);
  imageRoutes(r, {} as ImageRoutesDeps);
  systemRoutes(r, {} as SystemRoutesDeps);
  return r;
}

test('the daemon route table has no two routes matching the same request', () => {
  assert.deepEqual(realRouter().overlaps(), []);
});

test('the daemon route table holds the endpoints the docker CLI calls', () => {
  const list = realRouter().list();
  for (const route of [
    'GET /_ping', 'HEAD /_ping', 'GET /version', 'GET /info', 'GET /events',
    'POST /containers/create', 'GET /containers/json', 'GET /containers/:id/json', 'POST /containers/:id/start',
    'POST /containers/:id/stop', 'POST /containers/:id/kill', 'POST /containers/:id/wait', 'POST /containers/:id/attach',
    'GET /containers/:id/logs', 'DELETE /containers/:id', 'POST /containers/:id/exec', 'POST /exec/:id/start',
    'GET /exec/:id/json', 'GET /images/json', 'GET /images/*name/json', 'POST /images/*name/tag', 'DELETE /images/*name',
    'POST /images/create',
  ]) {
    assert.ok(list.includes(route), route);
  }
  assert.equal(new Set(list).size, list.length, 'no route is registered twice');
});

test('the daemon route table sends image names with registries and tags to the image routes', () => {
  const r = realRouter();
  assert.deepEqual(r.match('GET', '/images/127.0.0.1:5000/a/b:1/json')?.params, { name: '127.0.0.1:5000/a/b:1' });
  assert.deepEqual(r.match('POST', '/images/localhost:5000/x:2/tag')?.params, { name: 'localhost:5000/x:2' });
  assert.deepEqual(r.match('DELETE', '/images/127.0.0.1:5000/a/b:1')?.params, { name: '127.0.0.1:5000/a/b:1' });
  assert.deepEqual(r.match('GET', '/images/json')?.params, {});
  assert.deepEqual(r.match('GET', '/containers/json')?.params, {});
  assert.deepEqual(r.match('GET', '/containers/web/json')?.params, { id: 'web' });
});
