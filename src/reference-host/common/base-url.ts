import type { Request } from 'express';

/** The instance's web URL as the caller reached it (for `web_url` fields). */
export function baseUrl(req: Request): string {
  return `${req.protocol}://${req.get('host')}`;
}
