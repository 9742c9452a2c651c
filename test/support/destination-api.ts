import type request from 'supertest';
import type { TestApp } from './app';

/** GitLab's one answer to "not allowed", "not found", "other group's object" and "flag off". */
export const ACCESS_ERROR =
  "The resource that you are attempting to access does not exist or you don't have permission to perform this action";

export const FLAG = 'ff_external_audit_events_namespace';

/**
 * The ten mutations of GITLAB-CONTRACT.md §2 and this project's signing secret rotation (not in
 * GitLab), each with the payload fields a client reads.
 */
export const MUTATIONS = {
  externalAuditEventDestinationCreate: `
    mutation($input: ExternalAuditEventDestinationCreateInput!) {
      externalAuditEventDestinationCreate(input: $input) {
        errors
        externalAuditEventDestination { id name destinationUrl group { fullPath } }
      }
    }`,
  externalAuditEventDestinationUpdate: `
    mutation($input: ExternalAuditEventDestinationUpdateInput!) {
      externalAuditEventDestinationUpdate(input: $input) {
        errors
        externalAuditEventDestination { id name destinationUrl active }
      }
    }`,
  externalAuditEventDestinationDestroy: `
    mutation($input: ExternalAuditEventDestinationDestroyInput!) {
      externalAuditEventDestinationDestroy(input: $input) { errors }
    }`,
  externalAuditEventDestinationSigningSecretRotate: `
    mutation($input: ExternalAuditEventDestinationSigningSecretRotateInput!) {
      externalAuditEventDestinationSigningSecretRotate(input: $input) {
        errors
        externalAuditEventDestination { id signingSecret }
      }
    }`,
  auditEventsStreamingHeadersCreate: `
    mutation($input: AuditEventsStreamingHeadersCreateInput!) {
      auditEventsStreamingHeadersCreate(input: $input) { errors header { id key value active } }
    }`,
  auditEventsStreamingHeadersUpdate: `
    mutation($input: AuditEventsStreamingHeadersUpdateInput!) {
      auditEventsStreamingHeadersUpdate(input: $input) { errors header { id key value active } }
    }`,
  auditEventsStreamingHeadersDestroy: `
    mutation($input: AuditEventsStreamingHeadersDestroyInput!) {
      auditEventsStreamingHeadersDestroy(input: $input) { errors }
    }`,
  auditEventsStreamingDestinationEventsAdd: `
    mutation($input: AuditEventsStreamingDestinationEventsAddInput!) {
      auditEventsStreamingDestinationEventsAdd(input: $input) { errors eventTypeFilters }
    }`,
  auditEventsStreamingDestinationEventsRemove: `
    mutation($input: AuditEventsStreamingDestinationEventsRemoveInput!) {
      auditEventsStreamingDestinationEventsRemove(input: $input) { errors }
    }`,
  auditEventsStreamingHttpNamespaceFiltersAdd: `
    mutation($input: AuditEventsStreamingHTTPNamespaceFiltersAddInput!) {
      auditEventsStreamingHttpNamespaceFiltersAdd(input: $input) {
        errors
        namespaceFilter { id namespace { fullPath } }
      }
    }`,
  auditEventsStreamingHttpNamespaceFiltersDelete: `
    mutation($input: AuditEventsStreamingHTTPNamespaceFiltersDeleteInput!) {
      auditEventsStreamingHttpNamespaceFiltersDelete(input: $input) { errors }
    }`,
} as const;

export type MutationName = keyof typeof MUTATIONS;

/** Runs one of the mutations above as `token` (null: anonymous). */
export function mutate(
  t: TestApp,
  name: MutationName,
  input: Record<string, unknown>,
  token: string | null = t.adminToken,
): Promise<request.Response> {
  return t.graphql(MUTATIONS[name], { input }, token);
}

/**
 * Runs a mutation that must succeed (as the admin unless told) and returns its payload; fails
 * with the whole response otherwise, so a broken arrangement says why.
 */
export async function mutateOk(
  t: TestApp,
  name: MutationName,
  input: Record<string, unknown>,
  token: string | null = t.adminToken,
): Promise<Record<string, any>> {
  const res = await mutate(t, name, input, token);
  const payload = res.body?.data?.[name];
  if (res.status !== 200 || res.body.errors || !payload || payload.errors.length) {
    throw new Error(`${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return payload;
}

/** `group(fullPath:) { externalAuditEventDestinations { ... } }` with the given selection. */
export function listDestinations(
  t: TestApp,
  fullPath: string,
  token: string | null = t.adminToken,
  selection = 'nodes { id name }',
  args = '',
): Promise<request.Response> {
  return t.graphql(
    `query($fullPath: ID!) {
      group(fullPath: $fullPath) {
        fullPath
        externalAuditEventDestinations${args ? `(${args})` : ''} { ${selection} }
      }
    }`,
    { fullPath },
    token,
  );
}

/** Creates a group through the REST API (public, so anonymous callers see the group itself). */
export async function createPublicGroup(
  t: TestApp,
  token: string,
  path: string,
  parentId?: number,
): Promise<{ id: number; full_path: string }> {
  const res = await t
    .http()
    .post('/api/v4/groups')
    .set('PRIVATE-TOKEN', token)
    .send({ name: path, path, visibility: 'public', ...(parentId ? { parent_id: parentId } : {}) })
    .expect(201);
  return res.body;
}

/** An offline Unleash bootstrap turning the flag on for exactly these root group ids. */
export function flagBootstrap(groupIds: number[]): string {
  return JSON.stringify({
    version: 1,
    features: [
      {
        name: FLAG,
        enabled: true,
        strategies: [
          {
            name: 'default',
            constraints: [{ contextName: 'groupId', operator: 'IN', values: groupIds.map(String) }],
          },
        ],
      },
    ],
  });
}
