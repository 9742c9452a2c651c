import type { Test } from 'supertest';
import type { TestApp } from './app';

/**
 * REST calls as one caller: `api(t, token).get('/api/v4/user')`. No token is an anonymous call.
 * The token goes in `PRIVATE-TOKEN`, as GitLab's own clients send it.
 */
export function api(t: TestApp, token?: string | null) {
  const as = (req: Test) => (token ? req.set('PRIVATE-TOKEN', token) : req);
  return {
    get: (path: string) => as(t.http().get(path)),
    post: (path: string, body: object = {}) => as(t.http().post(path)).send(body),
    put: (path: string, body: object = {}) => as(t.http().put(path)).send(body),
    delete: (path: string) => as(t.http().delete(path)),
  };
}

/** `a/b/c` as a GitLab `:id` route parameter. */
export function encoded(fullPath: string): string {
  return encodeURIComponent(fullPath);
}

export const GUEST = 10;
export const REPORTER = 20;
export const DEVELOPER = 30;
export const MAINTAINER = 40;
export const OWNER = 50;
