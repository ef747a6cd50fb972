/** The event-stream parser: events complete at blank lines whatever the chunking and line endings. */

import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/dashboard/sse.js';

describe('sse parser', () => {
  /** What axum's `Sse` sends: `event:` and `data:` lines, keep-alive comments. */
  it('reads events and skips comments', () => {
    const p = new SseParser();
    expect(p.push(':\n\nevent: snapshot\ndata: {"a":1}\n\n')).toEqual([{ event: 'snapshot', data: '{"a":1}' }]);
    expect(p.push('data: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  /** The same stream cut at every position gives the same events. */
  it('is independent of chunking', () => {
    const stream = 'event: snapshot\r\ndata: {"n":1}\r\n\r\nevent:snapshot\rdata:{"n":2}\r\rid: 3\ndata: a\ndata: b\n\n';
    const whole = new SseParser().push(stream);
    expect(whole).toEqual([{ event: 'snapshot', data: '{"n":1}' }, { event: 'snapshot', data: '{"n":2}' }, { event: 'message', data: 'a\nb' }]);
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new SseParser();
      expect([...p.push(stream.slice(0, cut)), ...p.push(stream.slice(cut))]).toEqual(whole);
    }
  });

  /** An event without data is not dispatched; its name does not leak into the next. */
  it('drops empty events', () => {
    const p = new SseParser();
    expect(p.push('event: snapshot\n\ndata: y\n\n')).toEqual([{ event: 'message', data: 'y' }]);
  });

  /** A stream that never ends its event is cut off rather than filling memory. */
  it('bounds an event', () => {
    const p = new SseParser();
    expect(() => p.push(`data: ${'x'.repeat(1_000_001)}`)).toThrow(/too large/);
  });
});
