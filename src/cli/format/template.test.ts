import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate, Template, TemplateError, type TemplateObject } from './index.js';

const inspect = {
  Id: 'abc',
  State: { Status: 'running', Running: true, ExitCode: 0, Error: '' },
  Config: { Labels: { k: 'v', a: 'b<c' }, Env: ['A=1', 'B=2'], Cmd: ['sh', '-c', 'echo hi'], Entrypoint: null },
  HostConfig: { Binds: null, Memory: 0 },
  Mounts: [],
};

test('renderTemplate() evaluates fields, nested fields and Go %v printing', () => {
  assert.equal(renderTemplate('{{.Id}} {{.State.Status}}', inspect), 'abc running');
  assert.equal(renderTemplate('{{.Config.Cmd}}', inspect), '[sh -c echo hi]');
  assert.equal(renderTemplate('{{.Config.Labels}}', inspect), 'map[a:b<c k:v]');
  assert.equal(renderTemplate('{{.State}}', inspect), '{running true 0 }');
  assert.equal(renderTemplate('{{.HostConfig.Binds}} {{.Config.Entrypoint}} {{.Mounts}}', inspect), '[] [] []');
  assert.equal(renderTemplate('{{.Nope}}', inspect), '<no value>');
});

test('renderTemplate() supports json, index, range, if/else, with, variables and pipes', () => {
  assert.equal(renderTemplate('{{json .Config.Labels}}', inspect), '{"k":"v","a":"b\\u003cc"}');
  assert.equal(renderTemplate('{{index .Config.Labels "k"}}', inspect), 'v');
  assert.equal(renderTemplate('{{range .Config.Env}}[{{.}}]{{end}}', inspect), '[A=1][B=2]');
  assert.equal(renderTemplate('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', inspect), 'a=b<c;k=v;');
  assert.equal(renderTemplate('{{if .State.Running}}up{{else}}down{{end}}', inspect), 'up');
  assert.equal(renderTemplate('{{if eq .State.Status "exited"}}x{{else if .State.Running}}r{{end}}', inspect), 'r');
  assert.equal(renderTemplate('{{with .State}}{{.Status}}{{end}}', inspect), 'running');
  assert.equal(renderTemplate('{{$x := .Id}}{{$x}}-{{$.Id}}', inspect), 'abc-abc');
  assert.equal(renderTemplate('{{.State.Status | upper}} {{join .Config.Env ","}}', inspect), 'RUNNING A=1,B=2');
  assert.equal(renderTemplate('{{println .Id}}{{printf "%s:%d" .Id 3}}', inspect), 'abc\nabc:3');
  assert.equal(renderTemplate('{{len .Config.Env}} {{not .State.Running}}', inspect), '2 false');
  assert.equal(renderTemplate('a {{- " b " -}} c', inspect), 'a b c');
  assert.equal(renderTemplate('{{/* note */}}x', inspect), 'x');
});

test('Template.parse() reports Go parse errors', () => {
  assert.throws(() => Template.parse('{{.ID'), (e: unknown) => e instanceof TemplateError && e.message === 'template: :1: unclosed action');
  assert.throws(() => Template.parse('{{nofunc .}}'), /function "nofunc" not defined/);
  assert.throws(() => Template.parse('{{if .X}}'), /unexpected EOF/);
});

test('Template.execute() fails like Go on missing fields of typed contexts and with missingkey=error', () => {
  const ctx: TemplateObject = {
    templateTypeName: '*formatter.ContainerContext',
    templateField: (n) => (n === 'ID' ? { value: 'x' } : undefined),
    toJSON: () => ({ ID: 'x' }),
  };
  assert.throws(
    () => renderTemplate('{{.Foo}}', ctx),
    (e: unknown) => e instanceof TemplateError && e.message === 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext',
  );
  assert.throws(() => Template.parse('{{.Config.Foo.Bar}}').execute(inspect, { missingKey: 'error' }), /:1:2: executing "" at <.Config.Foo.Bar>: map has no entry for key "Foo"/);
});
