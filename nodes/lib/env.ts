/**
 * Environment variables in config fields. Node-RED itself replaces a property whose *whole* value is
 * `${VAR}` (credentials included) before the node sees it; this also expands `${VAR}` inside a longer
 * value such as `${SPAN_HOST}:8080`, and reports variables that are still unresolved.
 */

const EMBEDDED = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE = /^\$\{(\S+)\}$/;

/** Expands every `${VAR}` that `lookup` knows; unknown ones stay as they are. */
export function expandEnv(value: string, lookup: (name: string) => unknown): string {
  return value.replace(EMBEDDED, (whole, name: string) => {
    const v = lookup(name);
    return v === undefined || v === null ? whole : String(v);
  });
}

/** Names of `${VAR}` references left in a value (so the error can say which variable is missing). */
export function unresolvedEnv(value: string): string[] {
  const names: string[] = [];
  const whole = WHOLE.exec(value);
  if (whole) return [whole[1]];
  for (const m of value.matchAll(EMBEDDED)) names.push(m[1]);
  return names;
}
