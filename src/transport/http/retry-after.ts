/**
 * Parses an HTTP `Retry-After` value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into milliseconds
 * from `nowMs`. Returns undefined when the header is absent or unusable. No clamping here: the supervisor
 * clamps the value to its own bounds (docs/resilience.md §3, `rate-limited`).
 */
export function parseRetryAfter(value: unknown, nowMs: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw === 'number') return Number.isFinite(raw) && raw >= 0 ? Math.round(raw * 1000) : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Anything else must look like a date; a bare negative number or garbage is not a valid header.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
