import { describe, expect, it } from 'vitest';
import { checkTarget, checkUrl, guardedLookup, parseAllowedNetworks, UnsafeTargetError, type Resolve } from '../../../services/webhooks/ssrf-guard.js';

/** A resolver with fixed answers: no test depends on the DNS of the machine it runs on. */
const records: Record<string, string[]> = {
  'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'mixed.example': ['93.184.215.14', '10.0.0.7'],
  'metadata.example': ['169.254.169.254'],
};
const resolve: Resolve = async (host) => {
  const found = records[host];
  if (!found) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

async function refused(url: string, allowed = ''): Promise<string> {
  const error = await checkTarget(url, parseAllowedNetworks(allowed), resolve).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, url).toBeInstanceOf(UnsafeTargetError);
  return (error as Error).message;
}

describe('SSRF guard: refused targets, one case each', () => {
  it.each([
    ['loopback IPv4', 'http://127.0.0.1/hook', /loopback/],
    ['loopback IPv4, elsewhere in 127/8', 'http://127.10.20.30/hook', /loopback/],
    ['loopback IPv6', 'http://[::1]/hook', /loopback/],
    ['unspecified IPv4', 'http://0.0.0.0/hook', /unspecified/],
    ['unspecified IPv6', 'http://[::]/hook', /unspecified/],
    ['private 10/8', 'http://10.1.2.3/hook', /private/],
    ['private 172.16/12', 'http://172.20.0.1/hook', /private/],
    ['private 192.168/16', 'http://192.168.1.1/hook', /private/],
    ['unique local fc00::/7', 'http://[fd12:3456::1]/hook', /uniqueLocal/],
    ['CGNAT 100.64/10', 'http://100.64.0.1/hook', /carrierGradeNat/],
    ['link-local 169.254/16', 'http://169.254.1.1/hook', /linkLocal/],
    ['cloud metadata 169.254.169.254', 'http://169.254.169.254/latest/meta-data/', /linkLocal/],
    ['link-local fe80::/10', 'http://[fe80::1]/hook', /linkLocal/],
    ['multicast IPv4', 'http://224.0.0.1/hook', /multicast/],
    ['multicast IPv6', 'http://[ff02::1]/hook', /multicast/],
    ['reserved 240/4', 'http://240.0.0.1/hook', /reserved/],
    ['broadcast', 'http://255.255.255.255/hook', /broadcast/],
    ['documentation (reserved) IPv6', 'http://[2001:db8::1]/hook', /reserved/],
    ['IPv4-mapped IPv6 of loopback', 'http://[::ffff:127.0.0.1]/hook', /wraps 127\.0\.0\.1 \(loopback\)/],
    ['IPv4-mapped IPv6 in hex', 'http://[::ffff:7f00:1]/hook', /wraps 127\.0\.0\.1/],
    ['NAT64 64:ff9b::/96 wrapping 10.0.0.1', 'http://[64:ff9b::a00:1]/hook', /wraps 10\.0\.0\.1 \(private\)/],
    ['6to4 2002::/16 wrapping 192.168.0.1', 'http://[2002:c0a8:1::1]/hook', /wraps 192\.168\.0\.1 \(private\)/],
    ['decimal 2130706433', 'http://2130706433/hook', /127\.0\.0\.1 is loopback/],
    ['hexadecimal 0x7f000001', 'http://0x7f000001/hook', /127\.0\.0\.1 is loopback/],
    ['octal 0177.0.0.1', 'http://0177.0.0.1/hook', /127\.0\.0\.1 is loopback/],
    ['short form 127.1', 'http://127.1/hook', /127\.0\.0\.1 is loopback/],
    ['a name resolving to loopback (nip.io style)', 'http://127.0.0.1.nip.io/hook', /127\.0\.0\.1\.nip\.io resolves to 127\.0\.0\.1 is loopback/],
    ['a name with public and private records', 'http://mixed.example/hook', /resolves to 10\.0\.0\.7 is private/],
    ['a name resolving to the metadata address', 'http://metadata.example/hook', /linkLocal/],
    ['a name that does not resolve', 'http://nowhere.example/hook', /does not resolve/],
    ['a non-http scheme (file)', 'file:///etc/passwd', /scheme file:/],
    ['a non-http scheme (gopher)', 'gopher://public.example/', /scheme gopher:/],
    ['credentials in the URL', 'https://user:secret@public.example/hook', /credentials/],
    ['a user name alone in the URL', 'https://user@public.example/hook', /credentials/],
    ['not a URL', 'not a url', /not a URL/],
  ])('%s', async (_case, url, reason) => {
    expect(await refused(url)).toMatch(reason);
  });
});

describe('SSRF guard: accepted targets', () => {
  it('accepts public addresses and names whose every record is public', async () => {
    for (const url of ['https://public.example/hook', 'http://93.184.215.14:8080/hook', 'https://[2606:4700::1111]/hook', 'http://[64:ff9b::5db8:d70e]/']) {
      await expect(checkTarget(url, [], resolve), url).resolves.toBeInstanceOf(URL);
    }
  });

  it('accepts private targets only in an allowed network (WEBHOOK_ALLOWED_NETWORKS)', async () => {
    const loopback = parseAllowedNetworks('127.0.0.0/8, ::1/128');
    await expect(checkTarget('http://127.0.0.1:4000/hook', loopback, resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkTarget('http://[::1]:4000/hook', loopback, resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkTarget('http://127.0.0.1.nip.io/hook', loopback, resolve)).resolves.toBeInstanceOf(URL);
    expect(await refused('http://10.0.0.1/hook', '127.0.0.0/8')).toMatch(/private/);
    expect(() => parseAllowedNetworks('127.0.0.1')).toThrow();
  });
});

describe('SSRF guard at connect time (the lookup hook)', () => {
  function lookup(host: string, allowed = ''): Promise<string> {
    return new Promise((done, fail) => {
      guardedLookup(parseAllowedNetworks(allowed), resolve)(host, {}, (error, address) => (error ? fail(error) : done(String(address))));
    });
  }

  it('refuses a name whose answer is private now, though it may have been public at registration (DNS rebinding)', async () => {
    let answer = ['93.184.215.14'];
    const rebinding: Resolve = async () => answer;
    await expect(checkTarget('http://rebind.example/hook', [], rebinding)).resolves.toBeInstanceOf(URL);
    answer = ['127.0.0.1'];
    const connect = new Promise((done, fail) => guardedLookup([], rebinding)('rebind.example', {}, (error) => (error ? fail(error) : done(undefined))));
    await expect(connect).rejects.toBeInstanceOf(UnsafeTargetError);
  });

  it('hands over a public address, and a private one only when allowed', async () => {
    expect(await lookup('public.example')).toBe('93.184.215.14');
    await expect(lookup('mixed.example')).rejects.toBeInstanceOf(UnsafeTargetError);
    expect(await lookup('127.0.0.1.nip.io', '127.0.0.0/8')).toBe('127.0.0.1');
  });
});

it('checkUrl needs no DNS for literals', () => {
  expect(() => checkUrl('http://127.0.0.1/')).toThrow(UnsafeTargetError);
  expect(checkUrl('https://public.example/').hostname).toBe('public.example');
});
