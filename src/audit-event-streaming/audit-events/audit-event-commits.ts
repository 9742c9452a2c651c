import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  DataSource,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import { AuditEvent } from './audit-event.entity';

export type AuditEventsCommittedListener = (events: AuditEvent[]) => Promise<void> | void;

interface Pending {
  event: AuditEvent;
  /** Transaction depth when recorded, so a rolled-back savepoint drops only its own events. */
  depth: number;
}

/**
 * Domain events after commit: listeners hear of an audit event only once the transaction that
 * wrote it has committed (at once when it was written outside a transaction). A rollback, of the
 * transaction or of the savepoint it was written in, drops it.
 */
@Injectable()
export class AuditEventCommits implements EntitySubscriberInterface {
  private readonly logger = new Logger(AuditEventCommits.name);
  private readonly pending = new WeakMap<QueryRunner, Pending[]>();
  private readonly listeners: AuditEventsCommittedListener[] = [];

  constructor(@InjectDataSource() dataSource: DataSource) {
    dataSource.subscribers.push(this);
  }

  onCommitted(listener: AuditEventsCommittedListener): void {
    this.listeners.push(listener);
  }

  /** Called by the recorder right after the insert. */
  written(event: AuditEvent, queryRunner: QueryRunner | undefined): void {
    if (!queryRunner?.isTransactionActive) {
      this.emit([event]);
      return;
    }
    const list = this.pending.get(queryRunner) ?? [];
    list.push({ event, depth: this.depth(queryRunner) });
    this.pending.set(queryRunner, list);
  }

  afterTransactionCommit(change: TransactionCommitEvent): void {
    const list = this.pending.get(change.queryRunner);
    if (!list) return;
    if (change.queryRunner.isTransactionActive) {
      // A savepoint was released: its events now belong to the enclosing transaction.
      const depth = this.depth(change.queryRunner);
      for (const p of list) p.depth = Math.min(p.depth, depth);
      return;
    }
    this.pending.delete(change.queryRunner);
    this.emit(list.map((p) => p.event));
  }

  afterTransactionRollback(change: TransactionRollbackEvent): void {
    const list = this.pending.get(change.queryRunner);
    if (!list) return;
    const depth = change.queryRunner.isTransactionActive ? this.depth(change.queryRunner) : 0;
    const kept = list.filter((p) => p.depth <= depth);
    if (kept.length) this.pending.set(change.queryRunner, kept);
    else this.pending.delete(change.queryRunner);
  }

  private depth(queryRunner: QueryRunner): number {
    return (queryRunner as unknown as { transactionDepth?: number }).transactionDepth ?? 1;
  }

  private emit(events: AuditEvent[]): void {
    for (const listener of this.listeners) {
      // Listeners must not fail the caller's request; what they miss, the outbox sweeper catches.
      Promise.resolve()
        .then(() => listener(events))
        .catch((err) => this.logger.error(`after-commit listener failed: ${err?.message ?? err}`));
    }
  }
}
