import type { Request, Response } from 'express';
import { GitlabError } from './gitlab-errors';

export interface Page {
  page: number;
  perPage: number;
  offset: number;
}

/** GitLab's offset pagination: `page` (from 1) and `per_page` (default 20, at most 100). */
export function pageOf(query: Record<string, unknown>): Page {
  const page = query.page === undefined ? 1 : Number(query.page);
  const perPage = query.per_page === undefined ? 20 : Number(query.per_page);
  if (!Number.isInteger(page) || page < 1) throw GitlabError.badParam('page is invalid');
  if (!Number.isInteger(perPage) || perPage < 1) throw GitlabError.badParam('per_page is invalid');
  const size = Math.min(perPage, 100);
  return { page, perPage: size, offset: (page - 1) * size };
}

/** Sets `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page` and `Link`. */
export function setPaginationHeaders(req: Request, res: Response, page: Page, total: number): void {
  const totalPages = Math.max(1, Math.ceil(total / page.perPage));
  const next = page.page < totalPages ? page.page + 1 : null;
  const prev = page.page > 1 ? page.page - 1 : null;
  res.setHeader('X-Page', String(page.page));
  res.setHeader('X-Per-Page', String(page.perPage));
  res.setHeader('X-Total', String(total));
  res.setHeader('X-Total-Pages', String(totalPages));
  res.setHeader('X-Next-Page', next ? String(next) : '');
  res.setHeader('X-Prev-Page', prev ? String(prev) : '');
  const base = `${req.protocol}://${req.get('host')}${req.path}`;
  const link = (n: number, rel: string) => {
    const params = new URLSearchParams(req.query as Record<string, string>);
    params.set('page', String(n));
    params.set('per_page', String(page.perPage));
    return `<${base}?${params}>; rel="${rel}"`;
  };
  const links = [
    prev && link(prev, 'prev'),
    next && link(next, 'next'),
    link(1, 'first'),
    link(totalPages, 'last'),
  ].filter(Boolean);
  res.setHeader('Link', links.join(', '));
}
