import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { internalResolvConf } from './networks.js';

describe('internalResolvConf', () => {
  const host = '# host file\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nsearch corp.test\noptions edns0\n';
  it('keeps only the embedded server, the host\'s search and options, adds ndots:0 and names the host\'s servers', () => {
    assert.equal(internalResolvConf(host, '10.214.3.1', {}), [
      'nameserver 10.214.3.1', 'search corp.test', 'options edns0 ndots:0', '',
      "# Based on host file: '/etc/resolv.conf' (internal resolver)", '# ExtServers: [10.255.255.53]', '# Overrides: []', '# Option ndots from: internal', '',
    ].join('\n'));
  });
  it('--dns, --dns-search, --dns-option: the servers become the forwarders, not nameserver lines', () => {
    const out = internalResolvConf(host, '10.214.3.1', { Dns: ['10.214.3.9', '10.214.3.10'], DnsSearch: ['example.test'], DnsOptions: ['ndots:2'] });
    assert.equal(out, [
      'nameserver 10.214.3.1', 'search example.test', 'options ndots:2', '',
      "# Based on host file: '/etc/resolv.conf' (internal resolver)", '# ExtServers: [10.214.3.9 10.214.3.10]',
      '# Overrides: [nameservers search options]', '# Option ndots from: override', '',
    ].join('\n'));
  });
});
