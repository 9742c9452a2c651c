import { Catch, Logger } from '@nestjs/common';
import { GqlExceptionFilter } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import { ResourceNotAvailableError, ValidationFailedError } from './errors';

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

/**
 * A mutation's payload, GitLab's way: validation failures in `errors` (HTTP 200, the payload's
 * objects null); everything else is thrown on to the filter above.
 */
export async function mutationPayload(
  input: { clientMutationId?: string | null },
  empty: Record<string, null>,
  run: () => Promise<object>,
): Promise<object & { errors: string[]; clientMutationId: string | null }> {
  const clientMutationId = input.clientMutationId ?? null;
  try {
    return { ...(await run()), errors: [], clientMutationId };
  } catch (err) {
    if (err instanceof ValidationFailedError)
      return { ...empty, errors: err.messages, clientMutationId };
    throw err;
  }
}
