/**
 * Compile-time assertions for the type tests (no dependency: the checks
 * tsd would do, in a few lines). These files are only type-checked, by
 * `test/unit/types.test.ts`; nothing here runs.
 */

/** True when `A` and `B` are the same type (not mere assignability). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when `T` is `true`: `type _ = Expect<Equal<X, Y>>`. */
export type Expect<T extends true> = T;

/**
 * `expectType<T>()(value)` compiles only when `value`'s type is exactly `T`
 * (tsd's `expectType`). On a mismatch it asks for a 2nd argument,
 * `typeMismatch: { expected; got }`, whose type shows both.
 */
export const expectType =
  <Expected>() =>
  <Actual>(_value: Actual, ..._mismatch: Equal<Expected, Actual> extends true ? [] : [typeMismatch: { expected: Expected; got: Actual }]): void => {};
