/**
 * Published host ports are held by a listening socket each (what docker-proxy's bind does),
 * so a port taken by anyone else fails the start with a clear error. On IPv4 addresses
 * connections never reach these sockets: the nftables DNAT rules answer first. On IPv6
 * addresses (`::`, `::1`) the socket is the way in: it relays to the container's IPv4
 * address (userland-proxy.ts).
 */
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import type { PortReserver, ProxyTarget } from '../../core/ports/index.js';
import { EngineError } from '../../lib/errdefs.js';
import { relayTcp, relayUdp } from './userland-proxy.js';

export class SocketPortReserver implements PortReserver {
  private held = new Map<string, { sock: Server | Socket; endRelayed?: () => void }>();

  async reserve(proto: 'tcp' | 'udp' | 'sctp', hostIp: string, port: number, forward?: ProxyTarget): Promise<number> {
    const v6 = hostIp.includes(':');
    const addr = hostIp || '0.0.0.0';
    if (proto === 'sctp') return port; // Node has no SCTP sockets: not reserved
    const got = await new Promise<number>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException): void => {
        const why = e.code === 'EADDRINUSE' ? 'bind: address already in use' : e.code === 'EADDRNOTAVAIL' ? 'bind: cannot assign requested address' : e.message;
        const shown = v6 ? `[${addr}]` : addr;
        reject(new EngineError(e.code === 'EADDRINUSE' ? 'conflict' : 'invalid-argument', `Error starting userland proxy: listen ${proto}${v6 ? 6 : 4} ${shown}:${port}: ${why}`, { cause: e }));
      };
      if (proto === 'tcp') {
        const s = createServer({ allowHalfOpen: true });
        s.once('error', fail);
        s.listen({ host: addr, port, exclusive: true, ...(v6 ? { ipv6Only: true } : {}) }, () => {
          s.off('error', fail);
          s.on('error', () => {});
          const p = (s.address() as { port: number }).port;
          s.unref();
          this.held.set(`${proto}/${addr}/${p}`, { sock: s, ...(forward ? { endRelayed: relayTcp(s, forward) } : {}) });
          resolve(p);
        });
      } else {
        const s = createSocket({ type: v6 ? 'udp6' : 'udp4', ...(v6 ? { ipv6Only: true } : {}) });
        s.once('error', fail);
        s.bind({ address: addr, port, exclusive: true }, () => {
          s.off('error', fail);
          s.on('error', () => {});
          const p = s.address().port;
          s.unref();
          if (forward) relayUdp(s, forward);
          this.held.set(`${proto}/${addr}/${p}`, { sock: s });
          resolve(p);
        });
      }
    });
    return got;
  }

  release(proto: 'tcp' | 'udp' | 'sctp', hostIp: string, port: number): void {
    const k = `${proto}/${hostIp || '0.0.0.0'}/${port}`;
    const h = this.held.get(k);
    if (!h) return;
    this.held.delete(k);
    try { h.sock.close(); } catch { /* closed */ }
    h.endRelayed?.();
  }
}
