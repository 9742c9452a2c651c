import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';

/**
 * GitLab's REST error bodies: `{"message":"404 Group Not Found"}`, `{"error":"name is missing"}`,
 * `{"message":{"path":["has already been taken"]}}`. Every REST error goes through here.
 */
export class GitlabError extends HttpException {
  static unauthorized() {
    return new GitlabError(HttpStatus.UNAUTHORIZED, { message: '401 Unauthorized' });
  }
  static forbidden() {
    return new GitlabError(HttpStatus.FORBIDDEN, { message: '403 Forbidden' });
  }
  static notFound(what: string) {
    return new GitlabError(HttpStatus.NOT_FOUND, { message: `404 ${what} Not Found` });
  }
  static conflict(message: string) {
    return new GitlabError(HttpStatus.CONFLICT, { message });
  }
  /** A missing or malformed parameter (Grape's wording). */
  static badParam(error: string) {
    return new GitlabError(HttpStatus.BAD_REQUEST, { error });
  }
  /** Model validation failures, by attribute. */
  static invalid(messages: Record<string, string[]>) {
    return new GitlabError(HttpStatus.BAD_REQUEST, { message: messages });
  }

  constructor(status: number, body: Record<string, unknown>) {
    super(body, status);
  }
}

@Catch()
export class GitlabErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('REST');

  catch(exception: unknown, host: ArgumentsHost): unknown {
    // GraphQL errors are shaped by the GraphQL layer; hand them back untouched.
    if (host.getType() !== 'http') return exception;
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof GitlabError) {
      res.status(exception.getStatus()).json(exception.getResponse());
      return undefined;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      // Body-parser errors and Nest's own 404 for unknown routes, in GitLab's shape.
      const message =
        status === 404 ? '404 Not Found' : typeof body === 'string' ? body : (body as any).message;
      res.status(status).json(status === 400 ? { error: String(message) } : { message });
      return undefined;
    }
    this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    res.status(500).json({ message: '500 Internal Server Error' });
    return undefined;
  }
}
