import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import { AuthService } from './auth.service';
import type { AuthedRequest } from './request-user';

/**
 * Resolves `PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>` to `req.user`. A token that
 * is given but not valid is a 401, as in GitLab; no token is an anonymous request.
 */
@Injectable()
export class AuthMiddleware implements NestMiddleware {
  constructor(private readonly auth: AuthService) {}

  async use(req: AuthedRequest, res: Response, next: NextFunction): Promise<void> {
    const header = req.headers['private-token'];
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = (Array.isArray(header) ? header[0] : header) ?? bearer;
    req.user = null;
    if (token) {
      try {
        req.user = await this.auth.authenticate(token.trim());
      } catch (err) {
        next(err);
        return;
      }
      if (!req.user) {
        res.status(401).json({ message: '401 Unauthorized' });
        return;
      }
    }
    next();
  }
}
