/**
 * The chsk value model: how EDN (and transit) data looks in TypeScript.
 *
 * The mapping is chosen so that everyday data is plain JS, and so that every
 * value read from the wire writes back to the same wire text:
 *
 * | EDN                         | TypeScript                                        |
 * |-----------------------------|---------------------------------------------------|
 * | `nil`, `true`, `false`      | `null`, `true`, `false`                           |
 * | `"str"`                     | `string`                                          |
 * | `42`, `-7`                  | `number` (safe integers)                          |
 * | `9007199254740993`, `7N`    | `bigint` (outside ±2^53-1, or with `N`)           |
 * | `1.5`, `1e-9`               | `number`                                          |
 * | `1.0`, `-0.0`, `1e3`        | {@link Double} (a `Number` subclass; keeps `.0`)  |
 * | `##Inf`, `##-Inf`, `##NaN`  | `Infinity`, `-Infinity`, `NaN`                    |
 * | `1.5M`                      | {@link BigDec} (decimal text kept exactly)        |
 * | `22/7`                      | {@link Ratio}                                     |
 * | `\a`, `\newline`            | {@link Char}                                      |
 * | `:a`, `:my/ev`              | {@link Keyword} (interned: `kw("a") === kw("a")`) |
 * | `sym`, `my/sym`             | {@link Sym} (interned)                            |
 * | `[1 2]`                     | `Array`                                           |
 * | `(1 2)`                     | {@link List} (an `Array` subclass)                |
 * | `#{1 2}`                    | {@link EdnSet} (a `Set` subclass)                 |
 * | `{:a 1 :b/c 2}`             | plain object `{ a: 1, "b/c": 2 }` (all keys keywords) |
 * | `{"a" 1}`, `{1 :x}`         | `Map` (any key that is not a keyword)             |
 * | `#inst "…"`                 | `Date` ({@link Instant} if a msgpack timestamp has sub-ms nanos) |
 * | `#uuid "…"`                 | {@link Uuid}                                      |
 * | `#my/tag v`                 | {@link Tagged} (unless a tag handler is given)    |
 *
 * Writing goes the other way; in addition a plain JS number that is not an
 * integer writes as a double, `undefined` writes as `nil`, and a plain
 * object's keys are written as keywords.
 */

/**
 * Interning that a peer can't use to grow memory without bound: the first
 * `STRONG_LIMIT` names (an app's whole vocabulary, in practice) are held
 * strongly and cost one Map lookup; names beyond that are held weakly, so a
 * stream of unique keywords from a hostile peer is garbage once dropped,
 * while identity (`kw(x) === kw(x)`) still holds for every live instance.
 */
class InternTable<T extends object> {
  static readonly STRONG_LIMIT = 10_000;
  #strong = new Map<string, T>();
  #weak = new Map<string, WeakRef<T>>();
  #registry = new FinalizationRegistry<string>((name) => {
    const ref = this.#weak.get(name);
    if (ref !== undefined && ref.deref() === undefined) this.#weak.delete(name);
  });

  constructor(private readonly make: (name: string) => T) {}

  get(name: string): T {
    const hit = this.#strong.get(name);
    if (hit !== undefined) return hit;
    return this.#strong.size < InternTable.STRONG_LIMIT ? this.#addStrong(name) : this.#getWeak(name);
  }

  #addStrong(name: string): T {
    const x = this.make(name);
    this.#strong.set(name, x);
    return x;
  }

  #getWeak(name: string): T {
    const live = this.#weak.get(name)?.deref();
    if (live !== undefined) return live;
    const x = this.make(name);
    this.#weak.set(name, new WeakRef(x));
    this.#registry.register(x, name);
    return x;
  }
}

/** An EDN keyword. Instances are interned, so `===` and `Map` keys work. */
export class Keyword {
  /** `"my/ev"` for `:my/ev`, `"a"` for `:a`. */
  readonly fqn: string;
  readonly ns: string | null;
  readonly name: string;

  private constructor(fqn: string) {
    this.fqn = fqn;
    const slash = fqn.indexOf("/");
    // `:/` is the keyword whose name is "/"; a leading slash never starts a namespace.
    this.ns = slash > 0 ? fqn.slice(0, slash) : null;
    this.name = slash > 0 ? fqn.slice(slash + 1) : fqn;
  }

  static of(fqn: string): Keyword {
    return keywords.get(fqn);
  }

  toString(): string {
    return ":" + this.fqn;
  }

  toJSON(): string {
    return this.fqn;
  }
}

/** An EDN symbol. Interned like {@link Keyword}. */
export class Sym {
  readonly fqn: string;
  private constructor(fqn: string) {
    this.fqn = fqn;
  }
  static of(fqn: string): Sym {
    return symbols.get(fqn);
  }
  toString(): string {
    return this.fqn;
  }
  toJSON(): string {
    return this.fqn;
  }
}

// The constructors are private; the tables are their only callers.
const keywords = new InternTable<Keyword>((fqn) => new (Keyword as unknown as new (f: string) => Keyword)(fqn));
const symbols = new InternTable<Sym>((fqn) => new (Sym as unknown as new (f: string) => Sym)(fqn));

/** Shorthand for {@link Keyword.of}: `kw("my/ev")` is `:my/ev`. */
export const kw = (fqn: string): Keyword => Keyword.of(fqn);
/** Shorthand for {@link Sym.of}. */
export const sym = (fqn: string): Sym => Sym.of(fqn);

/** A single character, `\a` in EDN. `value` is one Unicode code point. */
export class Char {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
  toJSON(): string {
    return this.value;
  }
}

/**
 * A floating-point number whose value happens to be integral (`1.0`,
 * `-0.0`, `1e3`). It behaves as a number in arithmetic (`d + 1`), and writes
 * back with its decimal point so Clojure reads a Double, not a Long.
 * Non-integral doubles are plain `number`s, since they can't be confused.
 */
export class Double extends Number {}

/** Mark a number as a double for the writer: `double(1)` writes `1.0`. */
// Reflect.construct: `new` on a built-in subclass makes V8 deoptimize the caller.
export const double = (n: number): Double => Reflect.construct(Number, [n], Double) as Double;

/** An arbitrary-precision decimal (`1.50M`). The digits are kept as text. */
export class BigDec {
  /** The decimal text without the `M` suffix, e.g. `"1.50"`. */
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

/** A Clojure ratio (`22/7`). Not reduced: written back as read. */
export class Ratio {
  constructor(
    readonly numerator: bigint,
    readonly denominator: bigint,
  ) {}
  valueOf(): number {
    return Number(this.numerator) / Number(this.denominator);
  }
  toString(): string {
    return `${this.numerator}/${this.denominator}`;
  }
  toJSON(): number {
    return this.valueOf();
  }
}

/**
 * An instant with nanosecond precision. It is a `Date` (whose `getTime()`
 * is the instant truncated to the millisecond), so it works wherever a Date
 * does, and it also keeps the nanosecond-of-second. The msgpack packer reads
 * a timestamp with sub-millisecond digits as one and writes the nanos back,
 * so a `java.time.Instant` echoes exactly; the text packers write it as the
 * Date it is (EDN's `#inst` carries milliseconds).
 */
export class Instant extends Date {
  /** Nanoseconds within the second, 0 … 999 999 999. */
  readonly nanos: number;
  /**
   * @param epochSecond whole seconds since 1970-01-01T00:00:00Z (may be negative)
   * @param nanos nanoseconds within that second, 0 … 999 999 999
   */
  constructor(epochSecond: number, nanos: number) {
    super(epochSecond * 1000 + Math.floor(nanos / 1e6));
    this.nanos = nanos;
  }
}

/** A UUID (`#uuid "…"`). Kept apart from strings so it writes back tagged. */
export class Uuid {
  /** Lower-case canonical text, 36 characters. */
  readonly value: string;
  constructor(value: string) {
    this.value = value.toLowerCase();
  }
  toString(): string {
    return this.value;
  }
  toJSON(): string {
    return this.value;
  }
}

/** A tagged literal with no handler (`#my/point [1 2]`). */
export class Tagged {
  constructor(
    /** The tag without `#`, e.g. `"my/point"`. */
    readonly tag: string,
    readonly value: EdnValue,
  ) {}
}

/** An EDN list `(…)`. An `Array` so it can be iterated and indexed. */
export class List<T = EdnValue> extends Array<T> {
  static override get [Symbol.species]() {
    return Array;
  }
  static from_<T>(items: Iterable<T>): List<T> {
    const l = Reflect.construct(Array, [], List) as List<T>;
    for (const x of items) l.push(x);
    return l;
  }
}

/** An EDN set `#{…}`. Membership uses JS `Set` semantics (keywords are interned). */
export class EdnSet<T = EdnValue> extends Set<T> {}

/** A plain object read from (or written as) an EDN map with keyword keys. */
export interface EdnObject {
  [key: string]: EdnValue;
}

export type EdnValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Keyword
  | Sym
  | Char
  | Double
  | BigDec
  | Ratio
  | Uuid
  | Date
  | Tagged
  | EdnValue[]
  | List
  | EdnSet
  | Map<EdnValue, EdnValue>
  | EdnObject;

/** True for `{}` literals and `Object.create(null)` objects, not class instances. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
