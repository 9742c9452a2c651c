import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { onPostgres, pgRows } from '../common/hot-sql';
import { AuditEvent } from './audit-event.entity';

/** Rows in one shared INSERT at most. */
const MAX_ROWS = 200;
/** Shared INSERTs in flight at once: below this, a call goes out at once and waits for no one. */
const MAX_IN_FLIGHT = 2;

interface Waiting {
  event: AuditEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The recorder's INSERT: every audit event goes through here, so it is a plain parameterized
 * statement written once per row count (not the query builder), with values converted exactly as
 * TypeORM converts them for the column.
 *
 * Outside a transaction, calls made while earlier inserts are in flight share one multi-row INSERT
 * (a group insert, as databases group commits): each caller still returns only once its own row
 * is committed, a quiet moment sends a call on its own at once (in the next turn of the event
 * loop), and a shared INSERT that fails is retried row by row, so a bad row fails its own caller
 * only.
 */
@Injectable()
export class AuditEventInserts {
  private readonly columns: ColumnMetadata[];
  private readonly statements = new Map<number, string>();
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;
  private flushing: NodeJS.Immediate | null = null;

  constructor(@InjectDataSource() private readonly db: DataSource) {
    this.columns = db.getMetadata(AuditEvent).columns.filter((c) => !c.isGenerated);
  }

  /** One event in the caller's transaction (or on its own when the manager has none). */
  async insertIn(manager: EntityManager, event: AuditEvent): Promise<void> {
    await this.write([event], manager);
  }

  /** One event on its own (autocommit), sharing a statement with calls made meanwhile. */
  insert(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ event, resolve, reject });
      // Calls made in the same turn of the event loop (callers that an earlier INSERT's answer
      // released together, say) go out together.
      this.flushing ??= setImmediate(() => {
        this.flushing = null;
        this.flush();
      });
    });
  }

  private flush(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.waiting.length) {
      const group = this.waiting.splice(0, MAX_ROWS);
      this.inFlight++;
      void this.writeGroup(group).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async writeGroup(group: Waiting[]): Promise<void> {
    try {
      await this.write(group.map((w) => w.event));
      for (const w of group) w.resolve();
    } catch (err) {
      if (group.length === 1) return group[0].reject(err);
      // One bad row must not fail the others: each is tried alone.
      await Promise.all(
        group.map((w) =>
          this.write([w.event]).then(
            () => w.resolve(),
            (e: unknown) => w.reject(e),
          ),
        ),
      );
    }
  }

  /**
   * One INSERT of `events`, in `manager`'s transaction or else on its own; sets each event's id
   * (rows come back in the order of VALUES).
   */
  private async write(events: AuditEvent[], manager?: EntityManager): Promise<void> {
    const driver = this.db.driver;
    const params: unknown[] = [];
    for (const event of events)
      for (const column of this.columns)
        params.push(driver.preparePersistentValue(column.getEntityValue(event), column));
    const sql = this.statement(events.length);
    const rows = (
      !manager && onPostgres(this.db)
        ? await pgRows(this.db, sql, params)
        : await (manager ?? this.db.manager).query(sql, params)
    ) as { id: unknown }[];
    events.forEach((event, i) => (event.id = String(rows[i].id)));
  }

  private statement(rowCount: number): string {
    let sql = this.statements.get(rowCount);
    if (!sql) {
      const postgres = onPostgres(this.db);
      const width = this.columns.length;
      const values = Array.from({ length: rowCount }, (_, row) => {
        const marks = this.columns.map((_c, i) => (postgres ? `$${row * width + i + 1}` : '?'));
        return `(${marks.join(', ')})`;
      });
      const escape = (name: string) => this.db.driver.escape(name);
      const metadata = this.db.getMetadata(AuditEvent);
      sql =
        `INSERT INTO ${escape(metadata.tableName)} (${this.columns.map((c) => escape(c.databaseName)).join(', ')}) ` +
        `VALUES ${values.join(', ')} RETURNING ${escape('id')}`;
      this.statements.set(rowCount, sql);
    }
    return sql;
  }
}
