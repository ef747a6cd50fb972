/**
 * The live figures: headline tiles, queues, the waiting sparkline, counsellors by state and
 * load, and today's totals. The skeleton is built once; each snapshot refills the parts, so
 * focus and scroll position stay put. Counts only — no visitor is ever shown.
 */

import { h } from '../widget/dom.js';
import type { Snapshot } from '../staff/snapshot.js';
import type { Tallied } from '../staff/read.js';
import { barChart, NARROW_BARS, sparkline, stackedBar } from './chart.js';
import { formatPercent, formatWait, languageName, spokenWait, tagWords } from './format.js';
import { History } from './history.js';

/** How much waiting history the sparkline shows. */
export const SPARK_WINDOW_S = 10 * 60;

/** Total waiting across queues. */
export const totalWaiting = (s: Snapshot): number => s.queues.reduce((n, q) => n + q.waiting, 0);

const STATES = [
  { key: 'available', label: 'Available' },
  { key: 'busy', label: 'Busy' },
  { key: 'on_break', label: 'On break' },
  { key: 'offline', label: 'Offline' },
] as const;

/** A `<div><dt/><dd/></div>` pair in a tile list. */
function tile(label: string, value: HTMLElement): HTMLElement {
  return h('div', { class: 'tile' }, h('dt', {}, label), h('dd', {}, value));
}

/** A table with a caption (visually hidden when the card heading says it), head row and body rows. */
function table(caption: string, head: readonly string[], rows: readonly (readonly (string | Node)[])[], numericFrom = 1): HTMLTableElement {
  return h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, ...head.map((c, i) => h('th', { scope: 'col', class: i >= numericFrom ? 'num' : undefined }, c)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c, i) => i === 0 ? h('th', { scope: 'row' }, c) : h('td', { class: i >= numericFrom ? 'num' : undefined }, c))))));
}

/** A wait with its spoken form for screen readers. */
function wait(seconds: number): HTMLElement {
  return h('span', { 'aria-label': spokenWait(seconds) }, formatWait(seconds));
}

const sorted = (t: readonly Tallied[]): { label: string; value: number }[] =>
  [...t].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label)).map((e) => ({ label: tagWords(e.label), value: e.count }));

/** The live view: {@link LiveView.root} once, {@link LiveView.update} per snapshot. */
export class LiveView {
  readonly root: HTMLElement;
  private readonly history = new History(SPARK_WINDOW_S);
  private readonly tiles = h('dl', { class: 'tiles' });
  private readonly queues = h('div', { class: 'card-body' });
  private readonly spark = h('div', { class: 'card-body' });
  private readonly staff = h('div', { class: 'card-body' });
  private readonly today = h('div', { class: 'card-body' });
  private readonly waits = h('div', { class: 'card-body' });
  private readonly todayTitle = h('h2', { id: 'today-title' }, 'Today');

  /** @param queueName the display name of a queue id (the id itself when unknown). */
  constructor(private readonly queueName: (id: string) => string) {
    const card = (id: string, title: string | HTMLElement, body: HTMLElement, wide = false): HTMLElement =>
      h('section', { class: wide ? 'card wide' : 'card', 'aria-labelledby': id },
        typeof title === 'string' ? h('h2', { id }, title) : title, body);
    this.root = h('div', { class: 'live' },
      this.tiles,
      h('div', { class: 'cards' },
        card('queues-title', 'Queues', this.queues),
        card('spark-title', 'Waiting, last 10 minutes', this.spark),
        card('staff-title', 'Counsellors', this.staff),
        card('waits-title', 'Waits today', this.waits),
        card('today-title', this.todayTitle, this.today, true)));
    this.spark.append(h('p', { class: 'muted' }, 'Waiting for the first figures…'));
  }

  update(s: Snapshot): void {
    const waiting = totalWaiting(s);
    this.history.push(s.at, waiting);
    this.tiles.replaceChildren(
      tile('Service', h('span', { class: s.open ? 'open' : 'closed' }, s.open ? 'Open' : 'Closed')),
      tile('Waiting now', h('span', {}, String(waiting))),
      tile('Active chats', h('span', {}, String(s.activeChats))),
      tile('Load', h('span', {}, `${s.load.chats} / ${s.load.capacity}`)),
      tile('Counsellors available', h('span', {}, String(s.counsellors.available))),
      tile('Abandoned today', h('span', {}, formatPercent(s.today.abandonRate))),
    );
    this.renderQueues(s);
    this.renderSpark(s, waiting);
    this.renderStaff(s);
    this.renderToday(s);
  }

  private renderQueues(s: Snapshot): void {
    if (s.queues.length === 0) return void this.queues.replaceChildren(h('p', { class: 'muted' }, 'No queues are configured.'));
    this.queues.replaceChildren(
      table('Queues right now', ['Queue', 'Waiting', 'Longest wait', 'Wait estimate'],
        s.queues.map((q) => [this.queueName(q.id), String(q.waiting), q.waiting > 0 ? wait(q.longestWaitS) : '—', wait(q.etaS)])),
      barChart(s.queues.map((q) => ({ label: this.queueName(q.id), value: q.waiting })), 'Waiting per queue', 'tone-a', NARROW_BARS),
    );
  }

  private renderSpark(s: Snapshot, waiting: number): void {
    const samples = this.history.all();
    const first = samples[0];
    // Until the page has been open for the whole window, the chart spans what it has seen (a minute at least).
    const shownS = Math.min(SPARK_WINDOW_S, Math.max(60, first === undefined ? 0 : s.at - first.at));
    const minutes = Math.round(shownS / 60);
    const describe = `People waiting over the last ${minutes} minute${minutes === 1 ? '' : 's'}: now ${waiting}, highest ${this.history.max()}`;
    this.spark.replaceChildren(
      sparkline(samples, s.at, shownS, describe),
      h('p', { class: 'axis-note', 'aria-hidden': 'true' }, h('span', {}, `${minutes} min ago`), h('span', {}, 'now')),
      h('p', { class: 'muted' }, `Now ${waiting} waiting; highest ${this.history.max()} ${shownS < SPARK_WINDOW_S ? 'since this page opened' : 'in 10 minutes'}.`),
    );
  }

  private renderStaff(s: Snapshot): void {
    const parts = STATES.map((st) => ({ key: st.key, label: st.label, value: st.key === 'on_break' ? s.counsellors.onBreak : s.counsellors[st.key] }));
    this.staff.replaceChildren(
      stackedBar(parts, 'Counsellors by state'),
      h('ul', { class: 'legend' }, ...parts.map((p) => h('li', {}, h('span', { class: `swatch seg-${p.key}`, 'aria-hidden': 'true' }), `${p.label} `, h('strong', {}, String(p.value))))),
      s.onDuty.length === 0 ? h('p', { class: 'muted' }, 'Nobody is on duty.')
        : table('Counsellors on duty', ['Counsellor', 'State', 'Chats'],
          s.onDuty.map((c) => [c.alias, tagWords(c.state), `${c.chats} of ${c.capacity}`]), 2),
    );
  }

  private renderToday(s: Snapshot): void {
    const t = s.today;
    this.todayTitle.textContent = `Today (${t.date})`;
    this.today.replaceChildren(
      h('dl', { class: 'tiles small' },
        tile('Contacts', h('span', {}, String(t.contacts))),
        tile('Joined a queue', h('span', {}, String(t.joined))),
        tile('Left before an answer', h('span', {}, String(t.abandoned))),
        tile('Abandon rate', h('span', {}, formatPercent(t.abandonRate)))),
      h('div', { class: 'charts' },
        h('figure', {}, h('figcaption', {}, 'By channel'), barChart(sorted(t.byChannel), 'Contacts by channel', 'tone-b', NARROW_BARS)),
        h('figure', {}, h('figcaption', {}, 'By language'),
          barChart(sorted(t.byLanguage.map((e) => ({ label: languageName(e.label), count: e.count }))), 'Contacts by language', 'tone-b', NARROW_BARS)),
        h('figure', {}, h('figcaption', {}, 'By topic'), barChart(sorted(t.byTopic), 'Contacts by topic', 'tone-a', NARROW_BARS)),
        h('figure', {}, h('figcaption', {}, 'By outcome'), barChart(sorted(t.byOutcome), 'Contacts by outcome', 'tone-c', NARROW_BARS))),
    );
    const w = t.waitS;
    this.waits.replaceChildren(w.count === 0 ? h('p', { class: 'muted' }, 'No answered contacts yet today.')
      : h('div', {},
        h('dl', { class: 'tiles small' },
          tile('Half waited under', wait(w.p50)), tile('9 in 10 waited under', wait(w.p90)), tile('99 in 100 waited under', wait(w.p99))),
        h('p', { class: 'muted' }, `From ${w.count} answered contact${w.count === 1 ? '' : 's'}.`)));
  }
}
