import { Webhook } from 'standardwebhooks';
import { startTestApp, TestApp } from './support/app';
import { eventually, ReceivedRequest, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import {
  auditEventOf,
  createDestination,
  streamingEnv,
  streamingAppForSuite,
} from './support/streaming';

const ROTATE = `
  mutation($input: ExternalAuditEventDestinationSigningSecretRotateInput!) {
    externalAuditEventDestinationSigningSecretRotate(input: $input) {
      errors externalAuditEventDestination { id signingSecret }
    }
  }`;

/** Rotates the destination's signing secret as its owner would; returns the new secret. */
async function rotate(t: TestApp, gid: string): Promise<string> {
  const res = await t.graphql(ROTATE, { input: { id: gid } });
  const payload = res.body.data?.externalAuditEventDestinationSigningSecretRotate;
  if (!payload || payload.errors.length) throw new Error(`rotate: ${JSON.stringify(res.body)}`);
  return payload.externalAuditEventDestination.signingSecret;
}

/** Verifies as a receiver does, with the Standard Webhooks reference library. */
function verifies(secret: string, got: ReceivedRequest): boolean {
  try {
    new Webhook(secret).verify(got.body, got.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

/** Creates a project under `root` and waits for its event at the receiver. */
async function projectEventAt(
  t: TestApp,
  receiver: Receiver,
  rootId: number,
  path: string,
): Promise<ReceivedRequest> {
  const project = await new Rest(t).createProject(t.adminToken, path, rootId);
  const event = await auditEventOf(t, 'project_created', { type: 'Project', id: project.id });
  return eventually(() => receiver.forEvent(event.id)[0], `the event of project ${path}`);
}

describe('streaming: Standard Webhooks signatures', () => {
  let t: TestApp;
  const receiver = new Receiver();

  streamingAppForSuite(receiver, (app) => void (t = app), {
    AUDIT_STREAMING_SIGNING_OVERLAP_MS: String(24 * 3600 * 1000),
  });

  it("signs every request so that the destination's signing secret verifies it", async () => {
    const root = await new Rest(t).createGroup(t.adminToken, 'signed');
    const destination = await createDestination(t, root.full_path, `${receiver.url}/signed`);
    const got = await projectEventAt(t, receiver, root.id, 'verified');

    expect(got.headers['webhook-id']).toBe(got.json.id);
    expect(got.headers['webhook-timestamp']).toMatch(/^\d+$/);
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(destination.signingSecret).verify(
      got.body,
      got.headers as Record<string, string>,
    );
    expect(verified).toEqual(got.json);

    // Another destination's secret, or a tampered body, does not verify.
    const other = await createDestination(t, root.full_path, `${receiver.url}/other`);
    expect(verifies(other.signingSecret, got)).toBe(false);
    expect(
      verifies(destination.signingSecret, { ...got, body: got.body.replace('verified', 'x') }),
    ).toBe(false);
  });

  it('during the overlap after a rotation, signs with both secrets and either verifies', async () => {
    const root = await new Rest(t).createGroup(t.adminToken, 'rotating');
    const destination = await createDestination(t, root.full_path, `${receiver.url}/rotating`);
    const oldSecret = destination.signingSecret;
    const newSecret = await rotate(t, destination.gid);
    expect(newSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(newSecret).not.toBe(oldSecret);

    const got = await projectEventAt(t, receiver, root.id, 'after-rotation');
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(newSecret, got)).toBe(true);
    expect(verifies(oldSecret, got)).toBe(true);

    // The rotation is itself an audit event, streamed (and signed) like any other.
    const rotated = await eventually(
      () =>
        receiver.requests.find(
          (r) =>
            r.path === '/rotating' &&
            r.json?.event_type === 'event_streaming_destination_signing_secret_rotated',
        ),
      'the rotation event',
    );
    expect(rotated.json.details.custom_message).not.toContain(oldSecret);
    expect(rotated.body).not.toContain(newSecret);
    expect(verifies(newSecret, rotated)).toBe(true);

    // A second rotation: the first secret no longer signs, the last two do.
    const newest = await rotate(t, destination.gid);
    const later = await projectEventAt(t, receiver, root.id, 'after-second-rotation');
    expect(String(later.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(newest, later)).toBe(true);
    expect(verifies(newSecret, later)).toBe(true);
    expect(verifies(oldSecret, later)).toBe(false);
  });
});

describe('streaming: signatures after a rotation once the overlap is over', () => {
  let t: TestApp;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({ env: streamingEnv({ AUDIT_STREAMING_SIGNING_OVERLAP_MS: '1' }) });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('signs with the new secret only', async () => {
    const root = await new Rest(t).createGroup(t.adminToken, 'rotated');
    const destination = await createDestination(t, root.full_path, `${receiver.url}/rotated`);
    const newSecret = await rotate(t, destination.gid);

    const got = await projectEventAt(t, receiver, root.id, 'after-overlap');
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(newSecret, got)).toBe(true);
    expect(verifies(destination.signingSecret, got)).toBe(false);
  });
});
