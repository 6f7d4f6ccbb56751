import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { PermanentError } from '../../shared/errors.js';

/** The stable codes of the webhooks service's error classes (see errorCodes in shared/errors.ts). */
export const webhooksErrorCodes = ['WEBHOOK_UNSAFE_TARGET'] as const;
export type WebhooksErrorCode = (typeof webhooksErrorCodes)[number];

/**
 * A webhook URL, or the address its host resolved to, points where the pipeline must not send: the
 * machine itself, a private network, the cloud metadata service. No retry can change that (a DNS
 * answer might, but then the target changed under us: refusing is the point).
 */
export class UnsafeTargetError extends PermanentError {
  override readonly code: string = 'WEBHOOK_UNSAFE_TARGET' satisfies WebhooksErrorCode;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Network = [Address, number];

/** Networks private targets may be in anyway (WEBHOOK_ALLOWED_NETWORKS: tests and local runs allow loopback). */
export type AllowedNetworks = readonly Network[];

/** Parses `127.0.0.0/8,::1/128`; throws on anything that is not a CIDR list. */
export function parseAllowedNetworks(text: string): AllowedNetworks {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((cidr) => ipaddr.parseCIDR(cidr));
}

/**
 * The IPv4 address an IPv6 one carries, for the forms a router would unwrap: IPv4-mapped
 * (::ffff:a.b.c.d), NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002:AABB:CCDD::/48).
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = address.range();
  if (range === 'ipv4Mapped') return address.toIPv4Address();
  const bytes = address.toByteArray();
  if (range === 'rfc6052') return new ipaddr.IPv4(bytes.slice(12, 16));
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  return undefined;
}

function allowedExplicitly(address: Address, allowed: AllowedNetworks): boolean {
  return allowed.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
}

/**
 * Why `text` (an IP address) is refused, or undefined when it may be called: only public unicast
 * addresses are, or an address in an allowed network. An IPv6 address wrapping an IPv4 one is
 * judged by the IPv4 address (the wrapper itself is routable; the address behind it may not be).
 */
export function refusalOf(text: string, allowed: AllowedNetworks = []): string | undefined {
  if (!ipaddr.isValid(text)) return `${text} is not an IP address`;
  const address = ipaddr.parse(text);
  const inner = address.kind() === 'ipv6' ? embeddedIPv4(address as ipaddr.IPv6) : undefined;
  const judged = inner ?? address;
  if (allowedExplicitly(judged, allowed) || allowedExplicitly(address, allowed)) return undefined;
  const range = judged.range();
  if (range === 'unicast') return undefined;
  return inner ? `${text} wraps ${inner.toString()} (${range})` : `${text} is ${range}`;
}

/** Resolves a host name to all its addresses (dns.lookup with all: true, as connections do). */
export type Resolve = (hostname: string) => Promise<string[]>;

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses.map((a) => a.address))));
  });

/** The host of a URL without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * The checks that need no DNS: an http(s) URL without credentials, whose host, when an IP literal,
 * is allowed. The WHATWG parser has already turned numeric forms (2130706433, 0x7f000001,
 * 0177.0.0.1, 127.1) into dotted quads, so they are judged as what they are.
 */
export function checkUrl(text: string, allowed: AllowedNetworks = []): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UnsafeTargetError('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeTargetError(`scheme ${url.protocol} is not http(s)`);
  if (url.username !== '' || url.password !== '') throw new UnsafeTargetError('credentials in the URL');
  const host = hostOf(url);
  if (ipaddr.isValid(host)) {
    const refusal = refusalOf(host, allowed);
    if (refusal) throw new UnsafeTargetError(refusal);
  }
  return url;
}

/**
 * checkUrl, then the host's addresses: every one must be allowed, since a connection may take any
 * of them (a name with one public and one private record is refused).
 */
export async function checkTarget(text: string, allowed: AllowedNetworks = [], resolve: Resolve = systemResolve): Promise<URL> {
  const url = checkUrl(text, allowed);
  const host = hostOf(url);
  if (ipaddr.isValid(host)) return url;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    throw new UnsafeTargetError(`${host} does not resolve`);
  }
  if (addresses.length === 0) throw new UnsafeTargetError(`${host} does not resolve`);
  for (const address of addresses) {
    const refusal = refusalOf(address, allowed);
    if (refusal) throw new UnsafeTargetError(`${host} resolves to ${refusal}`);
  }
  return url;
}

/**
 * A `lookup` for http.request that refuses a name resolving to any address not allowed: the check
 * at connect time, against the address the socket will use, so a name that changed its answer since
 * registration (DNS rebinding) is caught. IP literals never reach a lookup: checkUrl judges them.
 */
export function guardedLookup(allowed: AllowedNetworks, resolve: Resolve = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const refused = found.map((address) => refusalOf(address, allowed)).find((refusal) => refusal !== undefined);
        if (found.length === 0 || refused) {
          callback(new UnsafeTargetError(`${hostname} resolves to ${refused ?? 'nothing'}`), '', 4);
          return;
        }
        const family = options.family === 6 || options.family === 'IPv6' ? 6 : options.family === 4 || options.family === 'IPv4' ? 4 : 0;
        const usable: LookupAddress[] = found.map((address) => ({ address, family: ipaddr.parse(address).kind() === 'ipv6' ? 6 : 4 })).filter((a) => family === 0 || a.family === family);
        if (usable.length === 0) {
          callback(new UnsafeTargetError(`${hostname} has no IPv${family} address`), '', 4);
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 4),
    );
  };
}
