import type { Logger } from '@nestjs/common';

/**
 * A task a worker runs again and again (the sweeper, the log cleanup, replay steps): one run at a
 * time, the next one `intervalMs` after the last has ended (at once when a run says it has more
 * to do), failures logged and retried on the next run; `stop()` waits for the run in progress.
 */
export class WorkerLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private isStopped = true;

  constructor(
    private readonly name: string,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    /** Resolves `true` when there is more to do right away. */
    private readonly run: () => Promise<boolean | void>,
  ) {}

  get stopped(): boolean {
    return this.isStopped;
  }

  start(firstRunInMs = 0): void {
    this.isStopped = false;
    this.schedule(firstRunInMs);
  }

  /** Runs now rather than at the next interval (no-op while a run is in progress). */
  kick(): void {
    if (!this.isStopped && !this.running) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.isStopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.run()
        .catch((err: Error) => {
          this.logger.warn(`${this.name} failed, will try again: ${err?.message ?? err}`);
          return false;
        })
        .then((more) => {
          this.running = null;
          this.schedule(more === true ? 0 : this.intervalMs);
        });
    }, ms);
  }
}
