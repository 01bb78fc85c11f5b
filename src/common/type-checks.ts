/**
 * Compile-time checks (types only; nothing at run time).
 *
 * The drift check between a shared response interface (src/common/api-types.ts)
 * and the DTO class that documents it: `implements` fails when the interface has
 * a required field the class lacks or a narrower type; `StrictSame` also fails
 * when one side has a field (optional or not) the other lacks, or a wider type,
 * at any depth. Use: `export type _UserDtoFits = AssertTrue<StrictSame<UserJson, UserDto>>;`
 */
/** The same property names (no deeper check). */
export type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;

/** Mutual assignability: `true` when each of A and B is assignable to the other. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export type AssertTrue<T extends true> = T;

/**
 * `Same`, and the same keys at every level (objects, array elements, nullable
 * objects): mutual assignability alone does not see an optional property that
 * only one side has.
 */
export type StrictSame<A, B> = [A] extends [B] ? ([B] extends [A] ? KeysMatch<NonNullable<A>, NonNullable<B>> : false) : false;
type KeysMatch<A, B> = [A] extends [readonly (infer EA)[]]
  ? [B] extends [readonly (infer EB)[]]
    ? StrictSame<EA, EB>
    : false
  : [A] extends [object]
    ? [B] extends [object]
      ? SameKeys<A, B> extends true
        ? [{ [K in keyof A & keyof B]-?: StrictSame<Exclude<A[K], undefined>, Exclude<B[K], undefined>> }[keyof A & keyof B]] extends [true]
          ? true
          : [keyof A & keyof B] extends [never]
            ? true
            : false
        : false
      : false
    : true;
