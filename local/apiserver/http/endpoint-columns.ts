/**
 * The Endpoints and EndpointSlice tables, as printers.go printEndpoints and printEndpointSlice
 * print them: at most 3 addresses (`ip:port` for Endpoints), then `+ N more...`.
 */
import type { KubeObject } from '../types.js';
import { ageColumn, column, list, nameColumn, num, orNone, rec, str, type TableColumn } from './columns.js';

/** Addresses a cell lists before `+ N more...`. */
const SHOWN = 3;

/** The Endpoints table's columns. */
export function endpointsColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column(
      {
        name: 'Endpoints',
        description:
          'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
      },
      endpointsCell,
    ),
    ageColumn(),
  ];
}

/** The EndpointSlice table's columns. */
export function endpointSliceColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column(
      {
        name: 'AddressType',
        description:
          'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.',
      },
      (o) => str(o['addressType']),
    ),
    column(
      {
        name: 'Ports',
        description:
          'ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates "all ports". Each slice may include a maximum of 100 ports.',
      },
      (o) => withMore(list(o['ports']).map(slicePort), '<unset>'),
    ),
    column(
      {
        name: 'Endpoints',
        description:
          'endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.',
      },
      (o) =>
        withMore(
          list(o['endpoints']).flatMap((e) => list(rec(e)['addresses']).map(str)),
          '<unset>',
        ),
    ),
    ageColumn(),
  ];
}

/** printers.go formatEndpoints: each subset's addresses, per port (`ip:port`), or bare without ports. */
function endpointsCell(o: KubeObject): string {
  const subsets = list(o['subsets']).map(rec);
  if (subsets.length === 0) return '<none>';
  const shown = subsets.flatMap((subset) => {
    const ips = list(subset['addresses']).map((a) => str(rec(a)['ip']));
    const ports = list(subset['ports']).map((p) => num(rec(p)['port']));
    return ports.length === 0 ? ips : ports.flatMap((port) => ips.map((ip) => `${ip}:${port}`));
  });
  return withMore(shown, '');
}

/** formatDiscoveryPorts' one port: its number, else its name, else `*`. */
function slicePort(port: unknown): string {
  const p = rec(port);
  if (typeof p['port'] === 'number') return String(p['port']);
  return str(p['name']) || '*';
}

/** listWithMoreString: the first 3, `+ N more...` after them, `empty` when there are none. */
function withMore(items: readonly string[], empty: string): string {
  const text = items.slice(0, SHOWN).join(',');
  if (items.length > SHOWN) return `${text} + ${items.length - SHOWN} more...`;
  return empty === '' ? orNone(text) : text || empty;
}
