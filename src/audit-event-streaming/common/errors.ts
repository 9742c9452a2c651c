/**
 * The plugin's domain errors. Resolvers throw them; `graphql-errors.ts` maps them to what GitLab
 * clients expect, in one place.
 */

/** Not found, not allowed, other group's object, or feature off: all look the same to the caller. */
export class ResourceNotAvailableError extends Error {
  static readonly MESSAGE =
    "The resource that you are attempting to access does not exist or you don't have permission to perform this action";

  constructor() {
    super(ResourceNotAvailableError.MESSAGE);
    this.name = 'ResourceNotAvailableError';
  }
}

/** Validation failures: GitLab returns these in the mutation payload's `errors`, with HTTP 200. */
export class ValidationFailedError extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join(', '));
    this.name = 'ValidationFailedError';
  }
}

export class UnknownAuditEventTypeError extends Error {
  constructor(readonly eventType: string) {
    super(`Validation failed: Audit event type with value ${eventType} is undefined.`);
    this.name = 'UnknownAuditEventTypeError';
  }
}
