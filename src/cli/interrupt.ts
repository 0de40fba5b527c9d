/**
 * SIGINT (Ctrl-C) and SIGTERM during `bptt train`: the run stops at the end of the batch under way,
 * saves a checkpoint, prints one line saying how to resume, and exits with 128 + the signal's number
 * (130, 143), as a shell expects. A second signal exits at once (every file is written atomically, so
 * the last complete checkpoint stays). Training is synchronous, so the loop yields to the event loop
 * between batches (`poll`) for the handlers to run.
 */
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type StopSignal = (typeof SIGNALS)[number];
const NUMBER: Record<StopSignal, number> = { SIGINT: 2, SIGTERM: 15 };

export class Interrupts {
  /** The signal received, or null. */
  received: StopSignal | null = null;
  private lastPoll = 0;
  private readonly handler = (signal: StopSignal): void => {
    if (this.received !== null) process.exit(128 + NUMBER[signal]);
    this.received = signal;
  };

  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.handler);
  }

  /** The exit code for the signal received. */
  get exitCode(): number {
    return this.received === null ? 0 : 128 + NUMBER[this.received];
  }

  /** Lets pending signal handlers run (at most every 20 ms); true when a stop was asked for. */
  async poll(): Promise<boolean> {
    const now = performance.now();
    if (now - this.lastPoll >= 20) {
      this.lastPoll = now;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return this.received !== null;
  }

  uninstall(): void {
    for (const signal of SIGNALS) process.removeListener(signal, this.handler);
  }
}
