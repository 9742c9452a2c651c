import { Catch, Logger } from '@nestjs/common';
import { GqlExceptionFilter } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import { ResourceNotAvailableError } from './errors';

/**
 * The one mapping from the plugin's errors to GraphQL errors, applied to the plugin's resolvers
 * (never globally). Anything unexpected becomes a bare "Internal server error": no stack, no
 * internals reach the caller; the details go to the log.
 */
@Catch()
export class StreamingGraphqlErrorFilter implements GqlExceptionFilter {
  private readonly logger = new Logger('AuditEventStreaming');

  catch(exception: unknown): GraphQLError {
    if (exception instanceof GraphQLError) return exception;
    if (exception instanceof ResourceNotAvailableError) {
      return new GraphQLError(exception.message, {
        extensions: { code: 'RESOURCE_NOT_AVAILABLE' },
      });
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return new GraphQLError('Internal server error', {
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  }
}
