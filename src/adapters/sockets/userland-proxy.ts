/**
 * The userland side of a published port (docker-proxy's role, docs/design/networking.md):
 * containers have IPv4 addresses only, and netfilter cannot translate an IPv6 connection to an
 * IPv4 one, so a host binding on `::`/`::1` is a socket that relays what it receives to the
 * container's address. TCP: one outgoing connection per accepted one, piped both ways with
 * half-close. UDP: one IPv4 socket per client address, forgotten after 90 s without traffic.
 */
import { connect, type Server, type Socket as TcpSocket } from 'node:net';
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import type { ProxyTarget } from '../../core/ports/index.js';

/**
 * Accepted connections are relayed to the target; the server is already listening. Returns
 * what ends the relayed connections (a closed server waits for them otherwise).
 */
export function relayTcp(server: Server, target: ProxyTarget): () => void {
  const open = new Set<TcpSocket>();
  server.on('connection', (inbound: TcpSocket) => {
    const t = target();
    if (!t) { inbound.destroy(); return; }
    const outbound = connect({ host: t.ip, port: t.port, allowHalfOpen: true });
    open.add(inbound);
    const done = (): void => { open.delete(inbound); inbound.destroy(); outbound.destroy(); };
    inbound.on('error', done).on('close', done);
    outbound.on('error', done).on('close', done);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  return () => { for (const s of open) s.destroy(); open.clear(); };
}

const UDP_IDLE_MS = 90_000;

/** Datagrams to `sock` are relayed to the target from one IPv4 socket per client; replies go back. */
export function relayUdp(sock: UdpSocket, target: ProxyTarget): void {
  const flows = new Map<string, { out: UdpSocket; timer: NodeJS.Timeout }>();
  const forget = (key: string): void => {
    const f = flows.get(key);
    if (!f) return;
    flows.delete(key);
    clearTimeout(f.timer);
    try { f.out.close(); } catch { /* closed */ }
  };
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    const t = target();
    if (!t) return;
    const key = `${from.address}/${from.port}`;
    let f = flows.get(key);
    if (!f) {
      const out = createSocket('udp4');
      out.on('error', () => forget(key));
      out.on('message', (reply) => {
        const cur = flows.get(key);
        if (cur) cur.timer.refresh();
        sock.send(reply, from.port, from.address);
      });
      f = { out, timer: setTimeout(() => forget(key), UDP_IDLE_MS).unref() };
      flows.set(key, f);
    } else {
      f.timer.refresh();
    }
    f.out.send(msg, t.port, t.ip);
  });
  sock.on('close', () => { for (const k of [...flows.keys()]) forget(k); });
}
