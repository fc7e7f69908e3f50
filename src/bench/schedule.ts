/**
 * The open model's schedule (wrk2's): send k is due at t0 + k / rate, and
 * is sent then whether or not earlier ones were answered. Its latency is
 * measured from that intended time, so when the server (or the generator)
 * stalls, the sends that should have gone out during the stall carry the
 * stall in their latency instead of silently not happening (coordinated
 * omission). Pure: the worker feeds it the clock.
 */
export class OpenSchedule {
  readonly intervalUs: number;
  #k = 0;

  /** `rate` sends per second starting at `t0Us`. */
  constructor(
    rate: number,
    readonly t0Us: number,
  ) {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`rate must be a positive number, not ${rate}`);
    this.intervalUs = 1e6 / rate;
  }

  /** Sends scheduled so far. */
  get taken(): number {
    return this.#k;
  }

  /** Calls `fire(intendedUs)` for every send due by `nowUs` not yet fired, in order; returns how many. */
  takeDue(nowUs: number, fire: (intendedUs: number) => void, stop: () => boolean = () => false): number {
    let n = 0;
    for (;;) {
      const intended = this.t0Us + this.#k * this.intervalUs;
      if (intended > nowUs || stop()) return n;
      this.#k++;
      n++;
      fire(intended);
    }
  }
}
