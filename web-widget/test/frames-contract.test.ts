/**
 * The contract with the Rust relay: every frame in `testdata/frames.json` (generated from the
 * Rust types by tests/frame_vectors.rs, one example of every server frame) passes the strict
 * validator, so a frame the relay sends is never refused by the browser.
 */
import { describe, expect, it } from 'vitest';
import { parseServerFrame } from '../src/proto/index.js';
import { loadVector } from './vectors.js';

interface FramesJson {
  readonly server: readonly { readonly t: string; readonly json: string }[];
  readonly client: readonly { readonly from: string; readonly json: string }[];
}

const frames = loadVector<FramesJson>('frames.json');

describe('frames.json', () => {
  it('has every server frame type the relay sends', () => {
    expect(new Set(frames.server.map((f) => f.t)).size).toBe(18);
  });
  for (const f of frames.server) {
    it(`accepts the relay's ${f.t} frame`, () => {
      expect(parseServerFrame(f.json).t).toBe(f.t);
    });
  }
});
