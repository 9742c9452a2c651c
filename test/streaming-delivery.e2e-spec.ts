import type { TestApp } from './support/app';
import { eventually, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import { createDestination, streamingAppForSuite } from './support/streaming';

describe('streaming: delivery to a receiver', () => {
  let t: TestApp;
  let rest: Rest;
  const receiver = new Receiver();

  streamingAppForSuite(receiver, (app) => {
    t = app;
    rest = new Rest(app);
  });

  it('delivers a subgroup event to the root group destination', async () => {
    const root = await rest.createGroup(t.adminToken, 'stream-root');
    const destination = await createDestination(t, 'stream-root', `${receiver.url}/ingest`);
    expect(destination.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const sub = await rest.createGroup(t.adminToken, 'sub', root.id);
    const got = await eventually(
      () =>
        receiver.requests.find(
          (r) => r.json?.event_type === 'group_created' && r.json.entity_id === sub.id,
        ),
      'the subgroup event',
    );
    expect(got.headers['x-gitlab-audit-event-type']).toBe('group_created');
  });
});
