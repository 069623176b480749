// Retries for everything that reaches a package mirror (apt-get, npm): a mirror
// in the middle of a sync, or a network that drops for a minute, should cost a
// few seconds, not a run. Plain JavaScript with Node built-ins only, because
// scripts/setup.mjs uses it before `npm ci`; lab/ imports it through retry.d.mts.

/** Waits before attempts 2, 3, 4, …: 2 s, 4 s, 8 s, … (HARDBOOT_RETRY_BASE_MS overrides 2000, for tests). */
export function backoffMs(attempt, baseMs = Number(process.env.HARDBOOT_RETRY_BASE_MS ?? 2000)) {
  return baseMs * 2 ** (attempt - 1);
}

/** How many times a mirror is tried (HARDBOOT_RETRY_ATTEMPTS overrides 4). */
export function attempts() {
  const n = Number(process.env.HARDBOOT_RETRY_ATTEMPTS ?? 4);
  return Number.isInteger(n) && n >= 1 ? n : 4;
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `attempt()` until it returns true, at most attempts() times, with
 * backoff between tries; `note(text)` hears about each failure. Returns
 * whether it finally succeeded.
 */
export function retrySync(what, attempt, note = (t) => process.stderr.write(`${t}\n`)) {
  const n = attempts();
  for (let i = 1; i <= n; i++) {
    if (attempt(i)) return true;
    if (i < n) {
      const wait = backoffMs(i);
      note(`${what}: attempt ${i} of ${n} failed; retrying in ${wait / 1000} s`);
      sleepSync(wait);
    }
  }
  return false;
}

/** The same for an async attempt: resolves to true on success, false after the last failure. */
export async function retryAsync(what, attempt, note = (t) => process.stderr.write(`${t}\n`)) {
  const n = attempts();
  for (let i = 1; i <= n; i++) {
    if (await attempt(i)) return true;
    if (i < n) {
      const wait = backoffMs(i);
      note(`${what}: attempt ${i} of ${n} failed; retrying in ${wait / 1000} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return false;
}
