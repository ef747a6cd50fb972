/** Reading `GET /v1/status`: the server's shape is accepted, anything else is refused or left out. */

import { describe, expect, it } from 'vitest';
import { parseStatus } from '../src/widget/status.js';

const body = {
  open: true, hours: 'always open',
  queues: [{ id: 'da/exit', names: { da: 'Vil gerne ud', en: 'Getting out' }, waiting: 0, eta_s: 60 }],
  phone: { number: '+45 00 00 00 00 (demo)', hours: 'Mon-Sun 00-24 (demo)' },
};

describe('status', () => {
  /** What lyt serves today. */
  it('reads the server status', () => {
    expect(parseStatus(body)).toEqual({
      open: true, hours: 'always open', phone: body.phone,
      queues: [{ id: 'da/exit', names: { da: 'Vil gerne ud', en: 'Getting out' }, etaS: 60 }],
    });
  });

  /** A queue with a strange id or wait is left out; a body without the phone line is no status. */
  it('refuses what it does not expect', () => {
    const odd = { ...body, queues: [{ id: '../x', names: {}, eta_s: 1 }, { id: 'da/ok', names: { da: 7 }, eta_s: -1 }, { id: 'en/any', names: { en: 7 }, eta_s: 0 }] };
    expect(parseStatus(odd)?.queues).toEqual([{ id: 'en/any', names: {}, etaS: 0 }]);
    expect(parseStatus({ ...body, phone: undefined })).toBeUndefined();
    expect(parseStatus([body])).toBeUndefined();
    expect(parseStatus({ ...body, open: 'yes' })).toBeUndefined();
  });
});
