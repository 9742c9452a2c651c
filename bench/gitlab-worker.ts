/**
 * The GitLab-style design's worker, in its own process as Sidekiq runs beside Puma: GitLab 14.5's
 * `AuditEventStreamingWorker#perform(audit_event_id)` loads the event by id (`AuditEvent.find`),
 * the root group's destinations (`group.external_audit_event_destinations`), and POSTs the event
 * to each in turn (`Gitlab::HTTP.post`), rescuing HTTP errors, never retrying. Here: a Bull
 * processor (`concurrency` jobs at once), two SELECTs on a pg pool of 20, one axios POST per
 * destination with axios's defaults. The producer is in the orchestrator (floors.ts).
 */
import axios from 'axios';
import Bull from 'bull';
import { Pool } from 'pg';
import { serve } from './common';
import { GITLAB_QUEUE } from './floors';

let pool: Pool | null = null;
let queue: Bull.Queue<{ id: string }> | null = null;
/** POSTs that failed and jobs that threw, by reason (GitLab drops them: no retry). */
let failures: Record<string, number> = {};
const failed = (reason: string) => (failures[reason] = (failures[reason] ?? 0) + 1);

async function perform(id: string): Promise<void> {
  const {
    rows: [event],
  } = await pool!.query('SELECT * FROM bench_gitlab_events WHERE id = $1 LIMIT 1', [id]);
  // AuditEvent.find raises when the row is missing: the job fails.
  if (!event) throw new Error(`audit event ${id} not found`);
  const { rows: destinations } = await pool!.query<{ url: string }>(
    'SELECT url FROM bench_gitlab_destinations WHERE group_id = $1 ORDER BY id',
    [event.group_id],
  );
  for (const { url } of destinations) {
    try {
      await axios.post(url, event);
    } catch (err) {
      failed(`post: ${String((err as Error)?.message).slice(0, 120)}`);
    }
  }
}

serve({
  start: async (m) => {
    pool = new Pool({ connectionString: String(m.databaseUrl), max: 20 });
    queue = new Bull(GITLAB_QUEUE, String(m.redisUrl), { prefix: String(m.prefix) });
    await queue.isReady();
    queue.on('failed', (_job, err: Error) => failed(`job: ${String(err?.message).slice(0, 120)}`));
    void queue.process(Number(m.concurrency), (job) => perform(job.data.id));
    return { pid: process.pid };
  },
  /** Failures since the last call (and resets them). */
  failures: () => {
    const out = failures;
    failures = {};
    return { failures: out };
  },
  stop: async () => {
    await queue?.close();
    await pool?.end();
    queue = null;
    pool = null;
    return {};
  },
  exit: () => {
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.on('disconnect', () => process.exit(0));
