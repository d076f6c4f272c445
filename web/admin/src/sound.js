// The new-order chime, synthesized with Web Audio (no sound file to load
// or cache). Browsers start an AudioContext suspended until the page has
// had a user gesture: the sign-in tap (or any tap) resumes it, and the
// board shows a "tap to turn the sound on" bar while it is not running.

let ctx = null;
const listeners = new Set();

function notify() {
  for (const fn of listeners) fn(soundState());
}

export function soundState() {
  return ctx ? ctx.state : "suspended";
}

export function onSoundState(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function unlockAudio() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  if (!ctx) {
    ctx = new AC();
    ctx.onstatechange = notify;
  }
  if (ctx.state === "suspended") ctx.resume().then(notify, notify);
}

// Three short notes (A5, E6, A5). Returns false when audio is impossible.
export function ring() {
  unlockAudio();
  if (!ctx) return false;
  const t0 = ctx.currentTime + 0.01;
  [880, 1318.5, 880].forEach((freq, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    const t = t0 + i * 0.2;
    osc.type = "triangle";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.5, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.2);
  });
  return true;
}
