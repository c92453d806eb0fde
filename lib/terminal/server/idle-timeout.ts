// A session's idle timeout: no input for `timeoutMs` ends it, with a warning shortly
// before (a minute, or a fifth of the timeout when that is shorter).
export class IdleTimeout {
  private warnTimer: NodeJS.Timeout | null = null;
  private endTimer: NodeJS.Timeout | null = null;

  /** `timeoutMs` 0: no timeout. */
  constructor(
    private readonly timeoutMs: number,
    private readonly on: { warn(detail: string): void; expire(): void },
  ) {}

  /** Input arrived (or the shell opened): the countdown starts over. */
  touch(): void {
    const timeout = this.timeoutMs;
    if (!timeout) return;
    this.clear();
    const warnBefore = Math.min(60_000, timeout / 5);
    this.warnTimer = setTimeout(
      () => this.on.warn(`No input for a while: this session ends in ${Math.round(warnBefore / 1000)} s unless you type something.`),
      timeout - warnBefore,
    );
    this.endTimer = setTimeout(() => this.on.expire(), timeout);
    this.warnTimer.unref();
    this.endTimer.unref();
  }

  clear(): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    if (this.warnTimer) clearTimeout(this.warnTimer);
    this.endTimer = this.warnTimer = null;
  }
}
