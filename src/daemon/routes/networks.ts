/** /networks/*: list, inspect, create, remove, prune, connect, disconnect (swagger v1.41). */
import { parseFilters, validateFilterKeys, matchLabels, type EndpointSettingsWire } from '../../api/index.js';
import type { ContainerService, NetworkService, NetworkCreateBody } from '../../services/index.js';
import { invalidArgument } from '../../lib/errdefs.js';
import type { Router } from '../http/index.js';
import { sendEmpty, sendJson } from '../http/index.js';
import { networkJson } from '../compat/index.js';

export interface NetworkRoutesDeps {
  networks: NetworkService;
  containers: ContainerService;
}

export function networkRoutes(r: Router, d: NetworkRoutesDeps): void {
  const { networks } = d;

  r.get('/networks', async (ctx) => {
    const filters = parseFilters(ctx.q('filters'));
    validateFilterKeys(filters, ['name', 'id', 'label', 'driver', 'type', 'scope', 'dangling']);
    const list = networks.list().filter((n) => {
      const names = filters.get('name');
      if (names && !names.some((x) => n.name.includes(x))) return false;
      const ids = filters.get('id');
      if (ids && !ids.some((x) => n.id.startsWith(x))) return false;
      const drivers = filters.get('driver');
      if (drivers && !drivers.includes(n.driver)) return false;
      const types = filters.get('type');
      if (types && !types.includes(n.builtin ? 'builtin' : 'custom')) return false;
      const scope = filters.get('scope');
      if (scope && !scope.includes('local')) return false;
      const dangling = filters.get('dangling');
      if (dangling) {
        const want = dangling[0] === 'true' || dangling[0] === '1';
        const unused = !n.builtin && networks.endpointsOf(n).length === 0;
        if (want !== unused) return false;
      }
      return matchLabels(filters, n.labels);
    });
    sendJson(ctx, 200, list.map((n) => networkJson(n, networks.endpointsOf(n), false)));
  });

  r.get('/networks/:id', async (ctx) => {
    const n = networks.get(ctx.params.id!);
    sendJson(ctx, 200, networkJson(n, networks.endpointsOf(n), true));
  });

  r.post('/networks/create', async (ctx) => {
    const body = await ctx.json<NetworkCreateBody>();
    if (!body) throw invalidArgument('network configuration cannot be empty');
    const { id, warning } = await networks.create(body);
    sendJson(ctx, 201, { Id: id, Warning: warning });
  });

  r.delete('/networks/:id', async (ctx) => {
    await networks.remove(ctx.params.id!);
    sendEmpty(ctx, 204);
  });

  r.post('/networks/prune', async (ctx) => {
    const filters = parseFilters(ctx.q('filters'));
    validateFilterKeys(filters, ['label', 'label!', 'until']);
    const deleted = await networks.prune(filters);
    sendJson(ctx, 200, { NetworksDeleted: deleted.length ? deleted : null });
  });

  r.post('/networks/:id/connect', async (ctx) => {
    const body = await ctx.json<{ Container?: string; EndpointConfig?: EndpointSettingsWire }>();
    if (!body?.Container) throw invalidArgument('container name or ID is required');
    await networks.connect(ctx.params.id!, body.Container, body.EndpointConfig);
    sendEmpty(ctx, 200);
  });

  r.post('/networks/:id/disconnect', async (ctx) => {
    const body = await ctx.json<{ Container?: string; Force?: boolean }>();
    if (!body?.Container) throw invalidArgument('container name or ID is required');
    await networks.disconnect(ctx.params.id!, body.Container, !!body.Force);
    sendEmpty(ctx, 200);
  });
}
