import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { brokerIdentityCheck, classifyMqttError } from '../../src/transport/v2/mqtt-errors';

/** The broker identity rule and the MQTT/TLS failure classes, as pure functions. */

function cert(san: string): PeerCertificate {
  return { subject: { CN: 'SPAN broker' }, subjectaltname: san } as unknown as PeerCertificate;
}

describe('v2 broker identity check (pinned CA)', () => {
  const SAN = 'DNS:span-nj-2316-xxxx.local, IP Address:192.168.1.20, IP Address:10.0.0.7';

  it('accepts the configured host when it is an IP in the SAN', () => {
    assert.equal(brokerIdentityCheck('192.168.1.20', () => null)('', cert(SAN)), undefined);
    assert.equal(brokerIdentityCheck('10.0.0.7', () => null)('', cert(SAN)), undefined);
  });

  it('accepts the panel .local name when configured by name', () => {
    assert.equal(brokerIdentityCheck('span-nj-2316-xxxx.local', () => null)('', cert(SAN)), undefined);
  });

  it("falls back to the panel's own span-<serial>.local name for an IP missing from the SAN (SPAN #221)", () => {
    const check = brokerIdentityCheck('192.168.1.99', () => 'nj-2316-XXXX');
    assert.equal(check('', cert(SAN)), undefined);
  });

  it('rejects a certificate that names neither the host nor this panel', () => {
    const err = brokerIdentityCheck('192.168.1.99', () => 'other-serial')('', cert(SAN));
    assert.ok(err instanceof Error);
    assert.equal((err as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.ok(brokerIdentityCheck('192.168.1.99', () => null)('', cert(SAN)) instanceof Error);
  });
});

describe('v2 MQTT failure classification', () => {
  const where = 'MQTT 127.0.0.1:8883';
  const cases: Array<[string, unknown, string]> = [
    [
      'CONNACK 5 (3.1.1 not authorized)',
      Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }),
      'auth',
    ],
    [
      'CONNACK 4 (bad user name or password)',
      Object.assign(new Error('Connection refused: Bad username or password'), { code: 4 }),
      'auth',
    ],
    ['CONNACK 135 (MQTT 5 not authorized)', Object.assign(new Error('x'), { code: 135 }), 'auth'],
    [
      'CONNACK 3 (server unavailable)',
      Object.assign(new Error('Connection refused: Server unavailable'), { code: 3 }),
      'broker',
    ],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'refused'],
    [
      'EHOSTUNREACH',
      Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' }),
      'unreachable',
    ],
    [
      'self-signed chain',
      Object.assign(new Error('self-signed certificate in certificate chain'), {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
      }),
      'tls',
    ],
    [
      'leaf not verifiable',
      Object.assign(new Error('unable to verify the first certificate'), {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      }),
      'tls',
    ],
    [
      'altname',
      Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      }),
      'tls',
    ],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'broker'],
    ['keepalive', new Error('Keepalive timeout'), 'broker'],
  ];
  for (const [name, err, cls] of cases) {
    it(`${name} → ${cls}`, () => {
      const e = classifyMqttError(err, where);
      assert.equal(e.errorClass, cls);
      assert.ok(e.message.startsWith(where));
    });
  }
});
