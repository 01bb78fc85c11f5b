/**
 * A small JSON Schema checker for the tests: the keywords the OpenAPI and
 * AsyncAPI documents of this project use (type / type lists, nullable (OpenAPI
 * 3.0), const, enum, required, properties, additionalProperties, items,
 * min/maxItems, minimum/maximum, min/maxLength, pattern, maxProperties, oneOf,
 * allOf, format date-time, and local `$ref`s resolved against `root`). Returns
 * one line per problem ([] when the value fits). Not a general validator: an
 * unknown keyword is reported as a problem, so a schema this cannot judge fails
 * loudly instead of passing silently.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  'type',
  'nullable',
  'const',
  'enum',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'maxProperties',
  'oneOf',
  'allOf',
  'format',
  '$ref',
  // annotations
  'description',
  'example',
  'examples',
  'title',
  'default',
  'readOnly',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function resolveRef(root: unknown, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return node as Schema;
}

export interface CheckOptions {
  /** Treat an object schema with `properties` and no `additionalProperties` as closed (an undocumented field is a problem). */
  closed?: boolean;
}

export function checkSchema(value: unknown, schema: Schema, root: unknown = schema, opts: CheckOptions = {}, path = '$'): string[] {
  const errors: string[] = [];
  const err = (m: string) => errors.push(`${path}: ${m}`);
  for (const k of Object.keys(schema)) if (!KNOWN.has(k) && !k.startsWith('x-')) err(`unsupported keyword "${k}"`);
  if (value === null && schema.nullable === true) return errors;
  if (typeof schema.$ref === 'string') return [...errors, ...checkSchema(value, resolveRef(root, schema.$ref), root, opts, path)];

  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const ok = types.some((x) => x === t || (x === 'number' && t === 'integer'));
    if (!ok) return [...errors, `${path}: expected ${types.join('|')}, got ${t} (${JSON.stringify(value)?.slice(0, 60)})`];
  }
  if ('const' in schema && value !== schema.const) err(`expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) err(`${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (Array.isArray(schema.oneOf)) {
    const matches = (schema.oneOf as Schema[]).filter((s) => checkSchema(value, s, root, opts, path).length === 0).length;
    if (matches !== 1) err(`matches ${matches} of the oneOf alternatives (exactly 1 expected)`);
  }
  if (Array.isArray(schema.allOf)) for (const s of schema.allOf as Schema[]) errors.push(...checkSchema(value, s, root, opts, path));

  if (t === 'string') {
    const s = value as string;
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(s)) err(`"${s}" does not match ${schema.pattern}`);
    if (typeof schema.maxLength === 'number' && s.length > schema.maxLength) err(`longer than ${schema.maxLength}`);
    if (typeof schema.minLength === 'number' && s.length < schema.minLength) err(`shorter than ${schema.minLength}`);
    if (schema.format === 'date-time' && (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) || Number.isNaN(Date.parse(s))))
      err(`"${s}" is not an ISO 8601 date-time`);
  }
  if (t === 'integer' || t === 'number') {
    const n = value as number;
    if (typeof schema.minimum === 'number' && n < schema.minimum) err(`${n} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && n > schema.maximum) err(`${n} > maximum ${schema.maximum}`);
  }
  if (t === 'array') {
    const a = value as unknown[];
    if (typeof schema.minItems === 'number' && a.length < schema.minItems) err(`fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && a.length > schema.maxItems) err(`more than ${schema.maxItems} items`);
    if (schema.items && typeof schema.items === 'object')
      a.forEach((v, i) => errors.push(...checkSchema(v, schema.items as Schema, root, opts, `${path}[${i}]`)));
  }
  if (t === 'object') {
    const o = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in o)) err(`missing required "${r}"`);
    if (typeof schema.maxProperties === 'number' && Object.keys(o).length > schema.maxProperties) err(`more than ${schema.maxProperties} properties`);
    for (const [k, v] of Object.entries(o)) {
      if (props[k]) errors.push(...checkSchema(v, props[k], root, opts, `${path}.${k}`));
      else if (schema.additionalProperties === false || (opts.closed && schema.properties && schema.additionalProperties === undefined))
        err(`unexpected property "${k}"`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
        errors.push(...checkSchema(v, schema.additionalProperties as Schema, root, opts, `${path}.${k}`));
    }
  }
  return errors;
}
