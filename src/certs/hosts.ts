import { isIP } from 'node:net';
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
    if (isIP(address) !== 0) {
      if (!ip.includes(address.toLowerCase())) ip.push(address.toLowerCase());
      continue;
    }
    const name = normaliseDnsName(host);
    if (!dns.includes(name)) dns.push(name);
  }
  if (dns.length === 0 && ip.length === 0) {
    throw new UsageError('no host names given: pass at least one --host (a DNS name or an IP address)');
  }
  return { dns, ip };
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
