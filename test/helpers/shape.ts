/**
 * Compares the shape of two JSON values: the same keys at every level (recursively) and the same value
 * types. Arrays compare each element with the expected array's first element. Returns the differences as
 * readable lines (empty = same shape).
 */
export function shapeDiff(actual: unknown, expected: unknown, at = '$'): string[] {
  const ta = jsonType(actual);
  const te = jsonType(expected);
  if (ta !== te) return [`${at}: expected ${te}, got ${ta}`];
  if (te === 'array') {
    const exp = expected as unknown[];
    if (exp.length === 0) return [];
    return (actual as unknown[]).flatMap((el, i) => shapeDiff(el, exp[0], `${at}[${i}]`));
  }
  if (te !== 'object') return [];
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const diffs: string[] = [];
  for (const key of Object.keys(e)) if (!(key in a)) diffs.push(`${at}.${key}: missing`);
  for (const key of Object.keys(a)) if (!(key in e)) diffs.push(`${at}.${key}: unexpected`);
  for (const key of Object.keys(e)) if (key in a) diffs.push(...shapeDiff(a[key], e[key], `${at}.${key}`));
  return diffs;
}

export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
