/**
 * A Server-Sent Events parser (the WHATWG "event stream" format, as much of it as lyt sends):
 * text in, complete events out. Lines end in LF, CR or CRLF; `data` lines are joined with LF;
 * comments (`:`) and unknown fields are ignored; an event is dispatched at a blank line.
 * Pure, so the feed's reconnect logic and this can be tested apart.
 */

/** One dispatched event. */
export interface SseEvent {
  /** `event:` field, `message` when absent. */
  readonly event: string;
  readonly data: string;
}

/** The most a single event may hold before the stream is considered broken (bytes of text). */
export const MAX_EVENT_CHARS = 1_000_000;

/** Feeds chunks, returns the events they complete. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private dataChars = 0;
  /** A CR ended the last chunk: an LF starting the next one belongs to it. */
  private pendingCr = false;

  /** Adds `chunk`; throws if one event grows beyond {@link MAX_EVENT_CHARS}. */
  push(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (m === null) break;
      if (m[0] === '\r' && m.index === this.buffer.length - 1) {
        // A lone CR at the very end may be the first half of CRLF.
        this.pendingCr = true;
      }
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev !== undefined) out.push(ev);
    }
    if (this.buffer.length + this.dataChars > MAX_EVENT_CHARS) throw new Error('event stream: event too large');
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      const ev = this.data.length > 0 ? { event: this.event || 'message', data: this.data.join('\n') } : undefined;
      this.event = '';
      this.data = [];
      this.dataChars = 0;
      return ev;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length + 1;
    }
    return undefined;
  }
}
