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

function decodeCursor(cursor: string): number {
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
  let window = rows;
  if (args.after) {
    const after = decodeCursor(args.after);
    window = window.filter((r) => r.id > after);
  }
  if (args.before) {
    const before = decodeCursor(args.before);
    window = window.filter((r) => r.id < before);
  }
  const bounded = window;
  const first = Math.min(args.first ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  window = window.slice(0, first);
  if (args.last != null)
    window = window.slice(Math.max(0, window.length - Math.min(args.last, MAX_PAGE_SIZE)));
  const edges = window.map((node) => ({ node, cursor: encodeCursor(node.id) }));
  const firstIndex = window.length ? rows.indexOf(window[0]) : 0;
  return {
    nodes: window,
    edges,
    pageInfo: {
      hasNextPage:
        window.length > 0 && bounded.indexOf(window[window.length - 1]) < bounded.length - 1,
      hasPreviousPage: firstIndex > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
