/**
 * What `bptt train` shows while it works: a progress bar with ETA, tokens/s, running loss and
 * gradient norm on a terminal; plain log lines when the output is not a terminal; JSON events, one
 * per line, with --json. The final summary is printed in every mode.
 */
import { SingleBar } from "cli-progress";

export type ReportMode = "bar" | "lines" | "json";

export interface ProgressUpdate {
  epoch: number;
  epochs: number;
  /** Steps (tokens) done in this epoch, and the epoch's total when known. */
  done: number;
  total: number;
  tokensPerSecond: number;
  loss: number;
  gradNorm: number;
}

export class Progress {
  private readonly mode: ReportMode;
  private readonly write: (line: string) => void;
  private bar: SingleBar | null = null;
  private lastLine = 0;

  constructor(mode: ReportMode, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {
    this.mode = mode;
    this.write = write;
  }

  /** Free-form information (suppressed in JSON mode, where `event` carries it). */
  info(line: string): void {
    if (this.mode !== "json") this.write(line);
  }

  event(name: string, fields: Record<string, unknown>): void {
    if (this.mode === "json") this.write(JSON.stringify({ event: name, ...fields }));
  }

  startEpoch(epoch: number, epochs: number, total: number): void {
    if (this.mode !== "bar") return;
    this.bar = new SingleBar({
      format: `epoch ${epoch}/${epochs} |{bar}| {percentage}% ETA {eta_formatted} | {rate} tok/s | loss {loss} | ‖g‖ {gnorm}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    });
    this.bar.start(Math.max(1, total), 0, { rate: "-", loss: "-", gnorm: "-" });
  }

  update(u: ProgressUpdate): void {
    const rate = u.tokensPerSecond >= 1000 ? `${(u.tokensPerSecond / 1000).toFixed(1)}k` : u.tokensPerSecond.toFixed(0);
    if (this.mode === "bar" && this.bar) {
      this.bar.update(Math.min(u.done, Math.max(1, u.total)), { rate, loss: u.loss.toFixed(4), gnorm: u.gradNorm.toFixed(3) });
    } else if (this.mode === "lines") {
      const now = Date.now();
      if (now - this.lastLine < 5000) return;
      this.lastLine = now;
      const percent = u.total > 0 ? ` ${((100 * u.done) / u.total).toFixed(0)}%` : "";
      this.write(`epoch ${u.epoch}/${u.epochs}${percent}  ${rate} tok/s  loss ${u.loss.toFixed(4)}  grad norm ${u.gradNorm.toFixed(3)}`);
    } else if (this.mode === "json") {
      this.event("update", { ...u });
    }
  }

  endEpoch(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
