import { GitlabError } from './gitlab-errors';

/** Grape-style parameter checks: `name is missing`, `access_level does not have a valid value`. */
export function requireParams(body: Record<string, unknown>, ...names: string[]): void {
  const missing = names.filter((n) => body[n] === undefined || body[n] === null || body[n] === '');
  if (missing.length) throw GitlabError.badParam(missing.map((n) => `${n} is missing`).join(', '));
}

export function intParam(value: unknown, name: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(n)) throw GitlabError.badParam(`${name} is invalid`);
  return n;
}

export function oneOf<T extends string | number>(
  value: unknown,
  name: string,
  allowed: readonly T[],
): T {
  const found = allowed.find((a) => String(a) === String(value));
  if (found === undefined) throw GitlabError.badParam(`${name} does not have a valid value`);
  return found;
}

/** `:id` of a GitLab route: a numeric id or a URL-encoded full path. */
export function idOrPath(raw: string): { id: number } | { fullPath: string } {
  return /^\d+$/.test(raw) ? { id: Number(raw) } : { fullPath: decodeURIComponent(raw) };
}
