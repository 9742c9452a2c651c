import { Webhook } from 'standardwebhooks';
import type { AuditEvent } from '../audit-events/audit-event.entity';
import { generateSigningSecret } from '../destinations/destination-defaults';
import type { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { buildDeliveryRequest, signingSecrets } from './delivery-request';

const event = {
  id: '42',
  authorId: 1,
  authorName: 'Administrator',
  entityId: 7,
  entityType: 'Group',
  entityPath: 'acme',
  targetId: '9',
  targetType: 'User',
  targetDetails: 'Alice',
  ipAddress: '127.0.0.1',
  eventType: 'member_created',
  details: { event_name: 'member_created' },
  createdAt: new Date('2026-01-01T00:00:00Z'),
  fannedOutAt: null,
} as AuditEvent;

function destination(
  headers: { key: string; value: string; active?: boolean }[] = [],
  extra: Partial<ExternalAuditEventDestination> = {},
): ExternalAuditEventDestination {
  return {
    id: 1,
    verificationToken: 'token-token-token-1',
    signingSecret: generateSigningSecret(),
    previousSigningSecret: null,
    previousSigningSecretExpiresAt: null,
    headers: headers.map((h, i) => ({ id: i + 1, active: true, ...h })),
    ...extra,
  } as unknown as ExternalAuditEventDestination;
}

/** Header names, lower-cased, as they would go on the wire. */
const names = (headers: Record<string, string>) => Object.keys(headers).map((k) => k.toLowerCase());

describe('buildDeliveryRequest', () => {
  it("sends GitLab's headers, JSON's content type and a signature the destination's secret verifies", () => {
    const d = destination([{ key: 'X-Siem', value: 'acme' }]);
    const { body, headers } = buildDeliveryRequest(event, d);
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers['X-Gitlab-Event-Streaming-Token']).toBe(d.verificationToken);
    expect(headers['X-Gitlab-Audit-Event-Type']).toBe('member_created');
    expect(headers['X-Siem']).toBe('acme');
    expect(JSON.parse(body).id).toBe('42');
    expect(new Webhook(d.signingSecret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('leaves inactive headers out and lets a custom Content-Type replace the default once', () => {
    const { headers } = buildDeliveryRequest(
      event,
      destination([
        { key: 'content-type', value: 'text/plain' },
        { key: 'X-Off', value: 'no', active: false },
      ]),
    );
    expect(names(headers).filter((n) => n === 'content-type')).toHaveLength(1);
    expect(headers['content-type']).toBe('text/plain');
    expect(names(headers)).not.toContain('x-off');
  });

  it('never lets a custom header replace the event type or the signature headers', () => {
    const d = destination([
      { key: 'x-gitlab-audit-event-type', value: 'forged' },
      { key: 'Webhook-Signature', value: 'v1,forged' },
      { key: 'WEBHOOK-ID', value: 'forged' },
    ]);
    const { body, headers } = buildDeliveryRequest(event, d);
    for (const name of ['x-gitlab-audit-event-type', 'webhook-signature', 'webhook-id'])
      expect(names(headers).filter((n) => n === name)).toHaveLength(1);
    expect(headers['X-Gitlab-Audit-Event-Type']).toBe('member_created');
    expect(headers['webhook-id']).toBe('42');
    expect(new Webhook(d.signingSecret).verify(body, headers)).toBeTruthy();
  });

  it('drops custom headers that would change how the message is framed', () => {
    const { headers } = buildDeliveryRequest(
      event,
      destination([
        { key: 'Content-Length', value: '3' },
        { key: 'Transfer-Encoding', value: 'chunked' },
        { key: 'Connection', value: 'close' },
        { key: 'X-Kept', value: 'yes' },
      ]),
    );
    for (const n of ['content-length', 'transfer-encoding', 'connection'])
      expect(names(headers)).not.toContain(n);
    expect(headers['X-Kept']).toBe('yes');
  });

  it('signs with the previous secret too while the rotation overlap lasts', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const previous = generateSigningSecret();
    const during = destination([], {
      previousSigningSecret: previous,
      previousSigningSecretExpiresAt: new Date(now.getTime() + 1000),
    });
    expect(signingSecrets(during, now)).toEqual([during.signingSecret, previous]);
    const after = destination([], {
      previousSigningSecret: previous,
      previousSigningSecretExpiresAt: new Date(now.getTime() - 1),
    });
    expect(signingSecrets(after, now)).toEqual([after.signingSecret]);
  });
});
