import { PanelError } from '../errors';

/**
 * Reads fields of one JSON object with the type checks the v1 schema implies. A required field that is
 * missing, or any field of the wrong type, is a `protocol` error naming the endpoint and the field; an
 * optional field that is missing (or null) is null, never a made-up 0.
 */
export class FieldReader {
  constructor(
    private readonly obj: Record<string, unknown>,
    /** e.g. "GET /api/v1/panel" plus a sub-path such as "mainMeterEnergy". */
    readonly where: string,
  ) {}

  private fail(key: string, expected: string): never {
    const got = this.obj[key];
    const kind = got === undefined ? 'missing' : `${Array.isArray(got) ? 'array' : typeof got}`;
    throw new PanelError(
      'protocol',
      `${this.where}: field "${key}" ${got === undefined ? 'is missing' : `is ${kind}, expected ${expected}`}`,
    );
  }

  private present(key: string): boolean {
    // Own fields only: a body is untrusted data, never a lookup through Object.prototype.
    return Object.hasOwn(this.obj, key) && this.obj[key] !== undefined && this.obj[key] !== null;
  }

  has(key: string): boolean {
    return this.present(key);
  }

  optNumber(key: string): number | null {
    if (!this.present(key)) return null;
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number');
    return v;
  }

  number(key: string): number {
    const v = this.optNumber(key);
    return v === null ? this.fail(key, 'a number') : v;
  }

  optString(key: string): string | null {
    if (!this.present(key)) return null;
    const v = this.obj[key];
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }

  string(key: string): string {
    const v = this.optString(key);
    return v === null || v === '' ? this.fail(key, 'a non-empty string') : v;
  }

  optBoolean(key: string): boolean | null {
    if (!this.present(key)) return null;
    const v = this.obj[key];
    if (typeof v !== 'boolean') this.fail(key, 'a boolean');
    return v;
  }

  optNumberArray(key: string): number[] | null {
    if (!this.present(key)) return null;
    const v = this.obj[key];
    if (!Array.isArray(v) || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      this.fail(key, 'an array of numbers');
    }
    return v as number[];
  }

  optObject(key: string): FieldReader | null {
    if (!this.present(key)) return null;
    const v = this.obj[key];
    if (!isPlainObject(v)) this.fail(key, 'an object');
    return new FieldReader(v, `${this.where} ${key}`);
  }

  object(key: string): FieldReader {
    const v = this.optObject(key);
    return v === null ? this.fail(key, 'an object') : v;
  }

  /** An optional array of objects (v1 `branches`); each element must itself be an object. */
  optObjectArray(key: string): FieldReader[] | null {
    if (!this.present(key)) return null;
    const v = this.obj[key];
    if (!Array.isArray(v) || !v.every(isPlainObject)) this.fail(key, 'an array of objects');
    return (v as Record<string, unknown>[]).map((e, i) => new FieldReader(e, `${this.where} ${key}[${i}]`));
  }

  /** A map of objects keyed by id (v1 `circuits`); each entry must itself be an object. */
  objectMap(key: string): Array<[string, FieldReader]> {
    const v = this.obj[key];
    if (!isPlainObject(v)) this.fail(key, 'an object keyed by id');
    return Object.entries(v).map(([id, entry]) => {
      if (!isPlainObject(entry)) {
        throw new PanelError('protocol', `${this.where}: entry "${id}" of "${key}" is not an object`);
      }
      return [id, new FieldReader(entry, `${this.where} ${key}.${id}`)];
    });
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a response body as JSON; invalid JSON (for example a body cut short) is a `protocol` error. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8's message quotes the start of the body: keep only the position (the body may be anyone's).
    const at = /position (\d+)/.exec(e instanceof Error ? e.message : '')?.[1];
    const why = at === undefined ? '' : `error at position ${at}; `;
    throw new PanelError('protocol', `${where}: body is not valid JSON (${why}${text.length} bytes)`);
  }
}

/** The body must be one JSON object: a string, an array, a number or null is a `protocol` error, never data. */
export function readerFor(value: unknown, where: string): FieldReader {
  if (!isPlainObject(value)) {
    const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new PanelError('protocol', `${where}: body is ${kind}, expected a JSON object`);
  }
  return new FieldReader(value, where);
}
