/**
 * Shift pressed three times in a short window: the keyboard quick exit, shared by the host
 * page (`embed.ts`) and the widget. Pure: the caller passes key events and their time.
 */

/** Presses needed. */
export const SHIFT_PRESSES = 3;
/** Window in which they must fall, in milliseconds. */
export const SHIFT_WINDOW_MS = 1500;

/** The parts of a `KeyboardEvent` the detector reads. */
export interface KeyLike {
  readonly key: string;
  readonly repeat: boolean;
}

/**
 * Counts Shift presses; `press` returns true on the third within {@link SHIFT_WINDOW_MS}.
 * Auto-repeat (a held key) does not count, and any other key starts the count again, so
 * typing capital letters never triggers it.
 */
export class TripleShift {
  private times: number[] = [];

  /** Feeds one `keydown`; true when this press completes the sequence (the count resets). */
  press(event: KeyLike, nowMs: number): boolean {
    if (event.key !== 'Shift') {
      this.times = [];
      return false;
    }
    if (event.repeat) return false;
    this.times = [...this.times.filter((t) => nowMs - t <= SHIFT_WINDOW_MS), nowMs];
    if (this.times.length >= SHIFT_PRESSES) {
      this.times = [];
      return true;
    }
    return false;
  }
}

/** The message the widget posts to its host page to ask for a quick exit. */
export const QUICK_EXIT_MESSAGE = 'lyt:quick-exit';

/** Whether `data` is exactly the quick-exit message. */
export function isQuickExitMessage(data: unknown): boolean {
  return typeof data === 'object' && data !== null && !Array.isArray(data)
    && Object.keys(data).length === 1 && (data as Record<string, unknown>)['type'] === QUICK_EXIT_MESSAGE;
}
