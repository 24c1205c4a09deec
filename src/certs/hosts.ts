import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';

/** The names a certificate covers, sorted by SAN type as mkcert does: DNS names first, then IP addresses. */
export interface SubjectAltNames {
  dns: string[];
  ip: string[];
}

/** What `serve` and `gencert` cover by default: the loopback names a local client is likely to dial. */
export const DEFAULT_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

// RFC 1035 section 2.3.4 and RFC 1123 section 2.1: labels of letters, digits and inner hyphens, at most 63
// characters each, 253 in all (the 255-octet wire limit minus length bytes).
const MAX_NAME_LENGTH = 253;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const ALL_DIGITS = /^[0-9]+$/;

/**
 * Splits `--host` values (repeatable, also comma-separated) into DNS and IP SANs, lowercased and without
 * duplicates. Throws a UsageError naming the first value that is neither a DNS name nor an IP address.
 */
export function sortHosts(hosts: readonly string[]): SubjectAltNames {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const raw of hosts.flatMap((value) => value.split(','))) {
    const host = raw.trim();
    if (host === '') continue;
    const address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const bytes = parseIpAddress(address);
    if (bytes !== undefined) {
      // One spelling per address (::1 and 0:0::1 are the same SAN), and the one the certificate will show.
      const canonical = formatIpAddress(bytes);
      if (!ip.includes(canonical)) ip.push(canonical);
      continue;
    }
    if (isIPv6(address)) {
      // Node accepts a zone (fe80::1%eth0), but a zone names an interface of one machine, not part of the
      // address; RFC 5280 section 4.2.1.6 has room for the 16 address bytes only.
      throw new UsageError(`invalid host '${host}': a zone index (${address.slice(address.indexOf('%'))}) cannot go in a certificate`);
    }
    const name = normaliseDnsName(host);
    if (!dns.includes(name)) dns.push(name);
  }
  if (dns.length === 0 && ip.length === 0) {
    throw new UsageError('no host names given: pass at least one --host (a DNS name or an IP address)');
  }
  return { dns, ip };
}

const IPV6_GROUPS = 8;

/**
 * The bytes of an IP address as a certificate holds them (RFC 5280 section 4.2.1.6): 4 for IPv4, 16 for IPv6,
 * including the forms with `::` and a dotted IPv4 tail (`::ffff:127.0.0.1`, `64:ff9b::1.2.3.4`). Undefined
 * for anything else, an IPv6 zone index (`%eth0`) included. Node's own parser decides what is an address;
 * this only turns an address it accepted into bytes.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // The dotted tail stands for the last two groups (RFC 4291 section 2.2, form 3).
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    hex = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = hex.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groupsOf(left);
  const rest = right === undefined ? [] : groupsOf(right);
  const zeros = right === undefined ? [] : new Array<string>(IPV6_GROUPS - head.length - rest.length).fill('0');
  const groups = [...head, ...zeros, ...rest];
  const bytes = new Uint8Array(2 * IPV6_GROUPS);
  groups.forEach((group, index) => {
    const value = parseInt(group, 16);
    bytes[2 * index] = value >> 8;
    bytes[2 * index + 1] = value & 0xff;
  });
  return bytes;
}

/**
 * The text form of 4 or 16 address bytes: dotted IPv4, or IPv6 as RFC 5952 section 4 writes it (lowercase,
 * no leading zeros, the longest run of two or more zero groups, the first of equals, shortened to `::`).
 */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: number[] = [];
  for (let index = 0; index < bytes.length; index += 2) groups.push(((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1; // a single zero group is written as 0, never ::
  for (let start = 0; start < groups.length; ) {
    let end = start;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const hex = (part: number[]) => part.map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** All names in SAN order, e.g. for logs and the `--json` result. */
export function listHosts(sans: SubjectAltNames): string[] {
  return [...sans.dns, ...sans.ip];
}

function normaliseDnsName(host: string): string {
  // A trailing dot marks a fully qualified name; certificates carry names without it.
  const name = host.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  // A wildcard may only be the whole leftmost label (RFC 6125 section 6.4.3), over at least one real label.
  const checked = labels[0] === '*' && labels.length > 1 ? labels.slice(1) : labels;
  const valid = name.length <= MAX_NAME_LENGTH && checked.every((label) => LABEL.test(label));
  if (!valid) {
    throw new UsageError(`invalid host '${host}': not a DNS name or an IP address`);
  }
  // `1.2.3` or `10.0.0.256` would be read as a (bad) IPv4 address by some resolvers: refuse the ambiguity.
  if (ALL_DIGITS.test(labels[labels.length - 1] ?? '')) {
    throw new UsageError(`invalid host '${host}': looks like an IP address but is not one`);
  }
  return name;
}
