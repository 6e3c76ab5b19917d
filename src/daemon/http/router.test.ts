import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from './router.js';
import type { Handler } from './context.js';

/** A handler that only identifies its route; the router never calls it. */
const h = (name: string): Handler => Object.assign(async () => {}, { route: name });
const nameOf = (m: ReturnType<Router['match']>): string | undefined => (m?.handler as unknown as { route: string } | undefined)?.route;

function imageRouter(): Router {
  return new Router()
    .get('/images/json', h('list'))
    .get('/images/*name/json', h('inspect'))
    .post('/images/*name/tag', h('tag'))
    .post('/images/*name/push', h('push'))
    .get('/images/*name/history', h('history'))
    .delete('/images/*name', h('remove'))
    .post('/images/create', h('create'));
}

test('Router.match() matches literal segments and captures :params', () => {
  const r = new Router().get('/containers/json', h('ps')).post('/containers/:id/start', h('start')).get('/exec/:id/json', h('exec'));
  assert.equal(nameOf(r.match('GET', '/containers/json')), 'ps');
  assert.deepEqual(r.match('POST', '/containers/abc123/start')?.params, { id: 'abc123' });
  assert.deepEqual(r.match('GET', '/exec/e1/json')?.params, { id: 'e1' });
});

test('Router.match() requires the method and the exact number of segments', () => {
  const r = new Router().post('/containers/:id/start', h('start'));
  assert.equal(r.match('GET', '/containers/abc/start'), undefined);
  assert.equal(r.match('POST', '/containers/abc'), undefined);
  assert.equal(r.match('POST', '/containers/abc/start/now'), undefined);
  assert.equal(r.match('POST', '/containers//start'), undefined, 'an empty segment is not a parameter');
});

test('Router.match() ignores repeated and trailing slashes', () => {
  const r = new Router().get('/containers/json', h('ps'));
  assert.equal(nameOf(r.match('GET', '/containers/json/')), 'ps');
  assert.equal(nameOf(r.match('GET', '//containers//json')), 'ps');
});

test('Router.match() URL-decodes each parameter after splitting', () => {
  const r = new Router().get('/containers/:id/json', h('inspect'));
  assert.deepEqual(r.match('GET', '/containers/a%20b/json')?.params, { id: 'a b' });
  assert.deepEqual(r.match('GET', '/containers/%E0%A4%A/json')?.params, { id: '%E0%A4%A' }, 'invalid escapes stay as they are');
});

test('Router.match() gives *name every segment between the head and the verb tail', () => {
  const r = imageRouter();
  const cases: Array<[string, string, string, string]> = [
    ['GET', '/images/busybox/json', 'inspect', 'busybox'],
    ['GET', '/images/busybox:latest/json', 'inspect', 'busybox:latest'],
    ['GET', '/images/127.0.0.1:5000/a/b:1/json', 'inspect', '127.0.0.1:5000/a/b:1'],
    ['POST', '/images/127.0.0.1:5000/a/b:1/tag', 'tag', '127.0.0.1:5000/a/b:1'],
    ['POST', '/images/localhost:5000/x/push', 'push', 'localhost:5000/x'],
    ['GET', '/images/sha256:abc/history', 'history', 'sha256:abc'],
    ['DELETE', '/images/127.0.0.1:5000/a/b:1', 'remove', '127.0.0.1:5000/a/b:1'],
    ['DELETE', '/images/json', 'remove', 'json'],
    ['GET', '/images/json/json', 'inspect', 'json'],
    ['GET', '/images/a%2Fb/json', 'inspect', 'a/b'],
  ];
  for (const [method, path, route, name] of cases) {
    const m = r.match(method, path);
    assert.equal(nameOf(m), route, `${method} ${path}`);
    assert.deepEqual(m?.params, { name }, `${method} ${path}`);
  }
});

test('Router.match() prefers literal routes that cannot be image names', () => {
  const r = imageRouter();
  assert.equal(nameOf(r.match('GET', '/images/json')), 'list');
  assert.equal(nameOf(r.match('POST', '/images/create')), 'create');
});

test('Router.match() needs at least one segment for *name', () => {
  const r = imageRouter();
  assert.equal(r.match('DELETE', '/images'), undefined);
  assert.equal(r.match('POST', '/images/tag'), undefined);
});

test('Router.match() captures :params on both sides of *name', () => {
  const r = new Router().get('/a/:x/*rest/b/:y', h('mixed'));
  assert.deepEqual(r.match('GET', '/a/1/p/q/r/b/2')?.params, { x: '1', rest: 'p/q/r', y: '2' });
  assert.equal(r.match('GET', '/a/1/b/2'), undefined);
});

test('Router.list() lists the routes as "METHOD pattern"', () => {
  assert.deepEqual(new Router().get('/a', h('a')).head('/a', h('b')).put('/c/:id', h('c')).list(), ['GET /a', 'HEAD /a', 'PUT /c/:id']);
});

test('Router.overlaps() is empty for routes no path can match twice', () => {
  assert.deepEqual(imageRouter().overlaps(), []);
  assert.deepEqual(new Router().get('/containers/json', h('a')).get('/containers/:id/json', h('b')).overlaps(), []);
  assert.deepEqual(new Router().get('/a/:id', h('a')).post('/a/:id', h('b')).overlaps(), [], 'different methods');
});

test('Router.overlaps() reports a literal shadowed by a parameter route', () => {
  const r = new Router().get('/containers/json', h('a')).get('/containers/:id', h('b'));
  assert.deepEqual(r.overlaps(), [['GET /containers/json', 'GET /containers/:id']]);
});

test('Router.overlaps() reports overlapping routes whichever is registered first', () => {
  const r = new Router().get('/containers/:id', h('a')).get('/containers/json', h('b'));
  assert.deepEqual(r.overlaps(), [['GET /containers/:id', 'GET /containers/json']]);
});

test('Router.overlaps() reports a *name route that swallows a longer parameter route', () => {
  const r = new Router().delete('/images/:a/:b', h('a')).delete('/images/*name', h('b'));
  assert.equal(r.overlaps().length, 1);
  const r2 = new Router().delete('/images/*name', h('a')).delete('/images/:a/:b', h('b'));
  assert.equal(r2.overlaps().length, 1);
});

test('Router.overlaps() reports routes that overlap through parameters on both sides', () => {
  // GET /a/json matches both.
  assert.equal(new Router().get('/:p/json', h('a')).get('/a/:q', h('b')).overlaps().length, 1);
  assert.equal(new Router().get('/:p/json', h('a')).get('/a/:q/x', h('b')).overlaps().length, 0);
});

test('Router.overlaps() does not mistake a literal "x" segment for a parameter', () => {
  assert.deepEqual(new Router().get('/a/x', h('a')).get('/a/y', h('b')).overlaps(), []);
  assert.deepEqual(new Router().get('/images/*name/x', h('a')).get('/images/*name/y', h('b')).overlaps(), []);
});

test('Router.overlaps() reports two *name routes with the same tail', () => {
  const r = new Router().get('/images/*name/json', h('a')).get('/images/*ref/json', h('b'));
  assert.equal(r.overlaps().length, 1);
});
