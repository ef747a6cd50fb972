/**
 * The recent past of one figure (people waiting, all queues together), kept in memory only
 * for the sparkline: one sample per snapshot, dropped once older than the window. A reload
 * starts empty; nothing is stored.
 */

/** One sample: unix seconds and the value then. */
export interface Sample {
  readonly at: number;
  readonly value: number;
}

/** A sliding window of samples, oldest first. */
export class History {
  private samples: Sample[] = [];

  /** @param windowS how far back to keep, in seconds. */
  constructor(readonly windowS: number) {}

  /** Adds a sample; one at or before the last one's time replaces it (the clock never runs back here). */
  push(at: number, value: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && at <= last.at) this.samples[this.samples.length - 1] = { at: last.at, value };
    else this.samples.push({ at, value });
    const from = at - this.windowS;
    const firstKept = this.samples.findIndex((s) => s.at >= from);
    if (firstKept > 0) this.samples = this.samples.slice(firstKept);
  }

  /** The samples in the window, oldest first. */
  all(): readonly Sample[] {
    return this.samples;
  }

  /** The highest value in the window (0 when empty). */
  max(): number {
    return this.samples.reduce((m, s) => Math.max(m, s.value), 0);
  }
}
