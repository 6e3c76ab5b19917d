/**
 * Published host ports are held by a listening socket each (what docker-proxy's bind does),
 * so a port taken by anyone else fails the start with a clear error. Connections never reach
 * these sockets: the nftables DNAT rules answer first.
 */
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import type { PortReserver } from '../../core/ports/index.js';
import { EngineError } from '../../lib/errdefs.js';

export class SocketPortReserver implements PortReserver {
  private held = new Map<string, Server | Socket>();

  async reserve(proto: 'tcp' | 'udp' | 'sctp', hostIp: string, port: number): Promise<number> {
    const addr = hostIp || '0.0.0.0';
    if (proto === 'sctp') return port; // Node has no SCTP sockets: not reserved
    const got = await new Promise<number>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException): void => {
        const why = e.code === 'EADDRINUSE' ? 'bind: address already in use' : e.code === 'EADDRNOTAVAIL' ? 'bind: cannot assign requested address' : e.message;
        reject(new EngineError(e.code === 'EADDRINUSE' ? 'conflict' : 'invalid-argument', `Error starting userland proxy: listen ${proto}4 ${addr}:${port}: ${why}`, { cause: e }));
      };
      if (proto === 'tcp') {
        const s = createServer();
        s.once('error', fail);
        s.listen({ host: addr, port, exclusive: true }, () => {
          const p = (s.address() as { port: number }).port;
          s.unref();
          this.held.set(`${proto}/${addr}/${p}`, s);
          resolve(p);
        });
      } else {
        const s = createSocket({ type: 'udp4' });
        s.once('error', fail);
        s.bind({ address: addr, port, exclusive: true }, () => {
          const p = s.address().port;
          s.unref();
          this.held.set(`${proto}/${addr}/${p}`, s);
          resolve(p);
        });
      }
    });
    return got;
  }

  release(proto: 'tcp' | 'udp' | 'sctp', hostIp: string, port: number): void {
    const k = `${proto}/${hostIp || '0.0.0.0'}/${port}`;
    const s = this.held.get(k);
    if (!s) return;
    this.held.delete(k);
    try { s.close(); } catch { /* closed */ }
  }
}
