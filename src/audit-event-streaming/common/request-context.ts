import { ArgsType, Field, Int } from '@nestjs/graphql';
import type { ConnectionArgs } from './connection';

/** GraphQL's context as the host builds it: `{ req }` (the HTTP request). */
export interface GqlContext {
  req: unknown;
  [key: symbol]: unknown;
}

/** The caller's IP, for audit events (express's `req.ip`, which honours the host's trust proxy). */
export function requestIp(req: unknown): string | null {
  const ip = (req as { ip?: string } | undefined)?.ip ?? null;
  return ip ? ip.replace(/^::ffff:/, '') : null;
}

const MEMO = Symbol('auditEventStreamingMemo');

/** Per-request memo: a lookup asked for by many fields of one query is made once. */
export function memo<T>(ctx: GqlContext, key: string, load: () => Promise<T>): Promise<T> {
  const cache = ((ctx as any)[MEMO] ??= new Map<string, Promise<unknown>>()) as Map<
    string,
    Promise<T>
  >;
  let hit = cache.get(key);
  if (!hit) {
    hit = load();
    cache.set(key, hit);
  }
  return hit;
}

const BATCHES = Symbol('auditEventStreamingBatches');

/**
 * Per-request batching (a small DataLoader): ids of one kind asked for in the same tick are
 * loaded with one `loadMany` call, so a list of N rows costs one lookup, not N.
 */
export function batchLoad<T extends { id: number }>(
  ctx: GqlContext,
  kind: string,
  id: number,
  loadMany: (ids: number[]) => Promise<T[]>,
): Promise<T | null> {
  return memo(ctx, `${kind}:${id}`, () => {
    const batches = ((ctx as any)[BATCHES] ??= new Map()) as Map<
      string,
      { ids: number[]; loaded: Promise<Map<number, T>> }
    >;
    let batch = batches.get(kind);
    if (!batch) {
      const ids: number[] = [];
      const loaded = new Promise<void>((resolve) => process.nextTick(resolve)).then(async () => {
        batches.delete(kind);
        return new Map((await loadMany(ids)).map((row) => [row.id, row]));
      });
      batch = { ids, loaded };
      batches.set(kind, batch);
    }
    batch.ids.push(id);
    return batch.loaded.then((rows) => rows.get(id) ?? null);
  });
}

@ArgsType()
export class ConnectionArgsType implements ConnectionArgs {
  @Field(() => Int, {
    nullable: true,
    description: 'Returns the first _n_ elements from the list.',
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Returns the elements that come after the cursor.',
  })
  after?: string | null;

  @Field(() => Int, { nullable: true, description: 'Returns the last _n_ elements from the list.' })
  last?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Returns the elements that come before the cursor.',
  })
  before?: string | null;
}
