import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerSummary, ImageSummary } from '../../api/client-types.js';
import {
  ContainerContext,
  containerHeader,
  DEFAULT_CONTAINER_TABLE,
  DEFAULT_IMAGE_TABLE,
  displayablePorts,
  ellipsis,
  imageHeader,
  imageRows,
  indentJson,
  renderRows,
  tabwrite,
} from './index.js';

const NOW = 1_800_000_000_000;
const now = (): number => NOW;

const ctr = (over: Partial<ContainerSummary>): ContainerSummary => ({
  Id: '9ee6e4d0675ea4d74965de5155304239d0a2a3c7786100d74cec5ed8691e27a3',
  Names: ['/clitest-a'],
  Image: 'busybox',
  ImageID: 'sha256:1f62d216c30005216b524a210d91af5b9d06fb14aa1930f5f76ac4154e19fe26',
  Command: "sh -c 'echo out; echo err >&2; sleep 300'",
  Created: NOW / 1000 - 5,
  Ports: [],
  Labels: { foo: 'bar' },
  State: 'running',
  Status: 'Up 4 seconds',
  ...over,
});

test('renderRows() prints the docker ps table byte for byte', () => {
  const rows = [ctr({}), ctr({ Id: '204ddea241093d0da4d5db1a86ebc67f6511e0fcc7ea504d26e01e78cbfa8a81', Names: ['/clitest-b'], Command: 'echo hello', Status: 'Created', State: 'created', Created: NOW / 1000 - 3600 * 3 })];
  const out = renderRows(DEFAULT_CONTAINER_TABLE, rows.map((c) => new ContainerContext(c, true, now)), containerHeader());
  assert.equal(
    out,
    'CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS     NAMES\n' +
      '9ee6e4d0675e   busybox   "sh -c \'echo out; ec…"   5 seconds ago   Up 4 seconds             clitest-a\n' +
      '204ddea24109   busybox   "echo hello"             3 hours ago     Created                  clitest-b\n',
  );
});

test('renderRows() prints only the header for an empty table and plain lines otherwise', () => {
  assert.equal(renderRows(DEFAULT_CONTAINER_TABLE, [], containerHeader()), 'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
  const c = new ContainerContext(ctr({}), true, now);
  assert.equal(renderRows('{{.Names}}\\t{{.State}}', [c], containerHeader()), 'clitest-a\trunning\n');
  assert.match(renderRows('{{json .}}', [c], containerHeader()), /^\{"Command":"\\"sh -c 'echo out; ec…\\"","CreatedAt":".*","ID":"9ee6e4d0675e",.*"Size":"0B","State":"running","Status":"Up 4 seconds"\}\n$/);
});

test('displayablePorts() groups ranges and shows host mappings', () => {
  assert.equal(
    displayablePorts([
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 81, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 9000, PublicPort: 32768, Type: 'tcp' },
      { IP: '::', PrivatePort: 9000, PublicPort: 32768, Type: 'tcp' },
    ]),
    '80-81/tcp, 0.0.0.0:32768->9000/tcp, [::]:32768->9000/tcp',
  );
});

test('imageRows() expands tags and renders the images table', () => {
  const img: ImageSummary = {
    Id: 'sha256:1f62d216c30005216b524a210d91af5b9d06fb14aa1930f5f76ac4154e19fe26',
    ParentId: '',
    RepoTags: ['busybox:latest', 'bb:1'],
    RepoDigests: [],
    Created: NOW / 1000 - 90,
    Size: 1986000,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
  };
  const dangling: ImageSummary = { ...img, Id: 'sha256:aaaaaaaaaaaabbbb', RepoTags: [], Size: 0 };
  assert.equal(
    renderRows(DEFAULT_IMAGE_TABLE, imageRows([img, dangling], { trunc: true, digests: false, now }), imageHeader()),
    'REPOSITORY   TAG       IMAGE ID       CREATED              SIZE\n' +
      'busybox      latest    1f62d216c300   About a minute ago   1.99MB\n' +
      'bb           1         1f62d216c300   About a minute ago   1.99MB\n' +
      '<none>       <none>    aaaaaaaaaaaa   About a minute ago   0B\n',
  );
});

test('tabwrite() pads to max(cell+3, 10) and leaves the last cell alone', () => {
  assert.equal(tabwrite('a\tbb\tc\nlonger-cell\tx\ty\n'), 'a             bb        c\nlonger-cell   x         y\n');
});

test('ellipsis() and indentJson() match docker', () => {
  assert.equal(ellipsis('abcdefghijklmnopqrstuvwxyz', 20), 'abcdefghijklmnopqrs…');
  assert.equal(ellipsis('short', 20), 'short');
  assert.equal(indentJson('[{"a":1,"b":[],"c":{},"d":"x\\u003c,:"}]'), '[\n    {\n        "a": 1,\n        "b": [],\n        "c": {},\n        "d": "x\\u003c,:"\n    }\n]');
});
