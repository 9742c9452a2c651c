import { Field, ObjectType } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';

/** Relay's `PageInfo`. */
@ObjectType('PageInfo')
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field()
  hasPreviousPage: boolean;

  @Field(() => String, { nullable: true })
  startCursor: string | null;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Connection<T> {
  nodes: T[];
  edges: { node: T; cursor: string }[];
  pageInfo: PageInfo;
}

/** GitLab's page size: 100 by default and at most. */
export const MAX_PAGE_SIZE = 100;

export function encodeCursor(id: number): string {
  return Buffer.from(JSON.stringify({ id: String(id) })).toString('base64');
}

export function decodeCursor(cursor: string): number {
  try {
    const id = Number(JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')).id);
    if (Number.isSafeInteger(id)) return id;
  } catch {
    // fall through to the error below
  }
  throw new GraphQLError('Please provide a valid cursor');
}

/**
 * Relay cursor pagination over rows already ordered by ascending id (small sets: a group has a
 * handful of destinations, a destination at most a few dozen headers).
 */
export function paginate<T extends { id: number }>(rows: T[], args: ConnectionArgs): Connection<T> {
  for (const [name, value] of [
    ['first', args.first],
    ['last', args.last],
  ] as const) {
    if (value != null && value < 0)
      throw new GraphQLError(`Argument '${name}' on Field must be non-negative`);
  }
  const after = args.after ? decodeCursor(args.after) : null;
  const before = args.before ? decodeCursor(args.before) : null;
  let window = rows.filter(
    (r) => (after === null || r.id > after) && (before === null || r.id < before),
  );
  window = window.slice(0, Math.min(args.first ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE));
  if (args.last != null)
    window = window.slice(Math.max(0, window.length - Math.min(args.last, MAX_PAGE_SIZE)));
  // Both flags look at the whole set, as GitLab answers: a page taken with `before` has a next
  // page (what lies after it), a page taken with `after` has a previous one.
  const lowId = window.length ? window[0].id : (after ?? -Infinity) + 0.5;
  const highId = window.length ? window[window.length - 1].id : (before ?? Infinity) - 0.5;
  const edges = window.map((node) => ({ node, cursor: encodeCursor(node.id) }));
  return {
    nodes: window,
    edges,
    pageInfo: {
      hasNextPage: rows.some((r) => r.id > highId),
      hasPreviousPage: rows.some((r) => r.id < lowId),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
