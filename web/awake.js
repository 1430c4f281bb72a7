// Keeps the screen on while a call needs it (the Screen Wake Lock API).
//
// A phone propped up to film turns its screen off after a minute or two untouched, and a browser
// whose page is no longer on screen stops its camera: the filming would end by itself. A laptop
// left to show the family's camera dims and sleeps the same way. The browser releases the lock
// whenever the page is hidden (another app, the screen locked by hand), so it is asked for again as
// soon as the page is back on screen, for as long as it is wanted.

/**
 * `state`: "off" (not wanted), "held", "hidden" (wanted, asked for again once the page is back on
 * screen), "unsupported" (a browser without the API) or "refused" (the browser said no: battery
 * saver, a permission policy); `onchange(state)` hears each change.
 */
export class ScreenAwake {
  constructor(onchange = () => {}) {
    this.onchange = onchange;
    this.state = "off";
    this.wanted = false;
    this.asking = false;
    this.sentinel = null;
    document.addEventListener("visibilitychange", () => this.#request());
  }

  /** Keeps the screen on from now on (asked for at once if the page is on screen). */
  keep() {
    this.wanted = true;
    this.#request();
  }

  /** Lets the screen turn off again. */
  release() {
    this.wanted = false;
    const sentinel = this.sentinel;
    this.sentinel = null;
    sentinel?.release().catch(() => {});
    this.#set("off");
  }

  async #request() {
    if (!this.wanted || this.sentinel || this.asking) return;
    if (!("wakeLock" in navigator)) return this.#set("unsupported");
    if (document.visibilityState !== "visible") return this.#set("hidden");
    this.asking = true;
    let sentinel;
    try {
      sentinel = await navigator.wakeLock.request("screen");
    } catch {
      return this.#set("refused");
    } finally {
      this.asking = false;
    }
    if (!this.wanted) {  // released while the answer was on its way
      sentinel.release().catch(() => {});
      return;
    }
    this.sentinel = sentinel;
    // The browser lets go when the page is hidden, or the system does (on screen): either way it is
    // asked for again, now or once the page is back.
    sentinel.addEventListener("release", () => {
      if (this.sentinel !== sentinel) return;
      this.sentinel = null;
      this.#request();
    });
    this.#set("held");
  }

  #set(state) {
    if (state === this.state) return;
    this.state = state;
    this.onchange(state);
  }
}
