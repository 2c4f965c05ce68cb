import { describe, expect, it } from 'vitest';
import { assertPublicDestination, isPublicAddress as sut } from './address-guard';

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['2001:4860:4860::8888', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false], // cloud metadata
    ['100.64.0.1', false], // CGNAT
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd00:ec2::254', false], // AWS metadata over IPv6
    ['ff02::1', false],
    ['::ffff:127.0.0.1', false], // IPv4-mapped loopback
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['not-an-ip', false],
  ])('%s → %s', (ip, expected) => expect(sut(ip)).toBe(expected));
});

describe('assertPublicDestination', () => {
  it('refuses literal and resolved private destinations', async () => {
    await expect(assertPublicDestination(new URL('https://127.0.0.1/x'), false)).rejects.toThrow(/non-public/);
    await expect(assertPublicDestination(new URL('https://[::ffff:7f00:1]/x'), false)).rejects.toThrow(/non-public/);
    await expect(assertPublicDestination(new URL('https://localhost/x'), false)).rejects.toThrow(/non-public/);
    await expect(assertPublicDestination(new URL('https://localhost/x'), true)).resolves.toBeUndefined();
  });
});
