import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ResolvedStreamingSettings } from '../audit-event-streaming.options';

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

/**
 * A service whose task runs in a `WorkerLoop` on worker processes (the sweeper, the log cleanup,
 * replay steps): started once the application is up, only where `worker` is on, and stopped (the
 * run in progress finishing) before the database closes.
 */
export abstract class WorkerLoopService implements OnApplicationBootstrap, OnModuleDestroy {
  protected readonly logger = new Logger(this.constructor.name);
  protected readonly loop: WorkerLoop;
  private readonly firstRunInMs: number;

  constructor(
    protected readonly settings: ResolvedStreamingSettings,
    task: { name: string; intervalMs: number; firstRunInMs?: number },
  ) {
    this.loop = new WorkerLoop(task.name, this.logger, task.intervalMs, () => this.runOnce());
    this.firstRunInMs = task.firstRunInMs ?? 0;
  }

  /** One run; resolves `true` when there is more to do right away. */
  protected abstract runOnce(): Promise<boolean | void>;

  onApplicationBootstrap(): void {
    if (this.settings.worker) this.loop.start(this.firstRunInMs);
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }
}
