import { Webhook } from 'standardwebhooks';
import type { AuditEvent } from '../audit-events/audit-event.entity';
import { generateSigningSecret } from '../destinations/destination-defaults';
import type { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { buildBatchRequests, buildDeliveryRequest, signingSecrets } from './delivery-request';

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

describe('buildBatchRequests (batch mode)', () => {
  const events = (n: number, pathLength = 10) =>
    Array.from({ length: n }, (_, i) => ({
      ...event,
      id: String(100 + i),
      entityPath: 'p'.repeat(pathLength),
    })) as AuditEvent[];

  it('cuts NDJSON batches at batchMaxEvents, one event per line, every event once and in order', () => {
    const batches = buildBatchRequests(
      events(7),
      destination([], { batchFormat: 'ndjson', batchMaxEvents: 3, batchMaxBytes: 1 << 20 }),
    );
    expect(batches.map((b) => b.events.length)).toEqual([3, 3, 1]);
    const lines = batches.flatMap((b) => b.request.body.trimEnd().split('\n'));
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(events(7).map((e) => e.id));
    expect(batches[0].request.headers['Content-Type']).toBe('application/x-ndjson');
    expect(batches[0].request.headers['X-Gitlab-Audit-Event-Count']).toBe('3');
    expect(batches[0].request.headers['webhook-id']).toBe('batch_100_3');
  });

  it('cuts at batchMaxBytes, and sends an event larger than the bound alone', () => {
    const one = Buffer.byteLength(buildDeliveryRequest(events(1)[0], destination()).body) + 1;
    const small = buildBatchRequests(
      events(4),
      destination([], { batchFormat: 'ndjson', batchMaxEvents: 100, batchMaxBytes: one * 2 }),
    );
    expect(small.map((b) => b.events.length)).toEqual([2, 2]);
    for (const b of small) expect(Buffer.byteLength(b.request.body)).toBeLessThanOrEqual(one * 2);
    const big = buildBatchRequests(
      events(2, 5000),
      destination([], { batchFormat: 'ndjson', batchMaxEvents: 100, batchMaxBytes: 1024 }),
    );
    expect(big.map((b) => b.events.length)).toEqual([1, 1]);
  });

  it('writes Splunk HEC objects one after the other, with the event time in seconds', () => {
    const [batch] = buildBatchRequests(
      events(2),
      destination([], { batchFormat: 'splunk_hec', batchMaxEvents: 10, batchMaxBytes: 1 << 20 }),
    );
    const objects = JSON.parse(`[${batch.request.body.replace(/}{"time"/g, '},{"time"')}]`);
    expect(
      objects.map((o: { time: number; event: { id: string } }) => [o.time, o.event.id]),
    ).toEqual([
      [Date.parse('2026-01-01T00:00:00Z') / 1000, '100'],
      [Date.parse('2026-01-01T00:00:00Z') / 1000, '101'],
    ]);
    expect(batch.request.headers['Content-Type']).toBe('application/json');
  });
});
