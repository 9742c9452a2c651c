import { DestinationRoute, EventScope, routeMatches } from './destination-routes';

const group = (fullPath: string, id = 1): EventScope => ({
  rootGroupId: 1,
  entityType: 'Group',
  entityId: id,
  fullPath,
});
const project = (fullPath: string, id: number): EventScope => ({
  rootGroupId: 1,
  entityType: 'Project',
  entityId: id,
  fullPath,
});
const route = (over: Partial<DestinationRoute> = {}): DestinationRoute => ({
  destinationId: 1,
  eventTypes: new Set(),
  namespace: null,
  batchWaitMs: 0,
  ...over,
});

describe('routeMatches', () => {
  it('passes everything without filters', () => {
    expect(routeMatches(route(), 'group_created', group('a'))).toBe(true);
  });

  it('passes only the listed event types', () => {
    const r = route({ eventTypes: new Set(['project_created']) });
    expect(routeMatches(r, 'project_created', project('a/p', 7))).toBe(true);
    expect(routeMatches(r, 'group_created', group('a'))).toBe(false);
  });

  it('a group namespace filter passes the group and everything below it, not its siblings', () => {
    const r = route({ namespace: { type: 'Group', id: 2, fullPath: 'a/b' } });
    expect(routeMatches(r, 'x', group('a/b', 2))).toBe(true);
    expect(routeMatches(r, 'x', group('a/b/c', 3))).toBe(true);
    expect(routeMatches(r, 'x', project('a/b/c/p', 9))).toBe(true);
    expect(routeMatches(r, 'x', group('a/bc', 4))).toBe(false);
    expect(routeMatches(r, 'x', group('a', 1))).toBe(false);
  });

  it('a project namespace filter passes only that project', () => {
    const r = route({ namespace: { type: 'Project', id: 9, fullPath: 'a/p' } });
    expect(routeMatches(r, 'x', project('a/p', 9))).toBe(true);
    expect(routeMatches(r, 'x', project('a/q', 10))).toBe(false);
    expect(routeMatches(r, 'x', group('a', 1))).toBe(false);
  });

  it('applies both filters together', () => {
    const r = route({
      eventTypes: new Set(['project_created']),
      namespace: { type: 'Group', id: 2, fullPath: 'a/b' },
    });
    expect(routeMatches(r, 'project_created', project('a/b/p', 9))).toBe(true);
    expect(routeMatches(r, 'member_created', group('a/b', 2))).toBe(false);
  });
});
