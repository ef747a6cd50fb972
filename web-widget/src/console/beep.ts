/**
 * The audible cue for a new offer: two short soft tones made with WebAudio (no media files,
 * which the page's CSP would refuse anyway). Browsers only allow sound after a user gesture,
 * so {@link Beeper.unlock} is called from the "go on duty" click.
 */

export class Beeper {
  private ctx: AudioContext | undefined;

  /** Creates or resumes the audio context; call from a user gesture. */
  unlock(): void {
    if (typeof AudioContext === 'undefined') return;
    this.ctx ??= new AudioContext();
    void this.ctx.resume().catch(() => undefined);
  }

  /** Plays the offer cue (silently does nothing where audio is unavailable). */
  offer(): void {
    const ctx = this.ctx;
    if (ctx === undefined || ctx.state !== 'running') return;
    const start = ctx.currentTime;
    for (const [i, freq] of [660, 880].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      const t0 = start + i * 0.22;
      gain.gain.setValueAtTime(0.0001, t0);
      gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0);
      osc.stop(t0 + 0.2);
    }
  }
}
