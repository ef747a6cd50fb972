/** Test data shared by the dashboard tests. */

/** The example of docs/console-api.md. */
export const EXAMPLE = {
  at: 1795000000, open: true,
  queues: [{ id: 'da/exit', waiting: 2, longest_wait_s: 75, eta_s: 120 }],
  counsellors: { available: 1, busy: 1, on_break: 0, offline: 1 },
  on_duty: [{ alias: 'Maja', state: 'busy', chats: 2, capacity: 2 }],
  active_chats: 3,
  load: { chats: 3, capacity: 4 },
  today: {
    date: '2026-11-23', contacts: 12,
    by_channel: { chat: 10, phone: 2 }, by_language: { da: 9, en: 3 }, by_topic: { exit: 5, health: 3 }, by_outcome: { advice: 7, referred: 1 },
    joined: 14, abandoned: 2, abandon_rate: 0.143,
    wait_s: { p50: 30, p90: 80, p99: 120, count: 12 },
  },
};
