import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from '../proxy-protocol/encode.js';

/** The PROXY protocol versions a client can open its connection with (`--proxy-header`). */
export const PROXY_HEADER_VERSIONS = ['v1', 'v2'] as const;
export type ProxyHeaderVersion = (typeof PROXY_HEADER_VERSIONS)[number];

/**
 * The header a health check sends to a server behind a balancer (`serve --proxy-protocol`): it relays no
 * one, so it says LOCAL (v2) or UNKNOWN (v1), and the server uses the connection's own addresses, exactly
 * as it does for HAProxy's own checks.
 */
export function localProxyHeader(version: ProxyHeaderVersion): Buffer {
  return version === 'v1' ? encodeProxyHeaderV1() : encodeProxyHeaderV2();
}
