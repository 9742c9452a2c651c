import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

function parseTime(value: unknown): Date {
  const date =
    typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime()))
    throw new GraphQLError(`${JSON.stringify(String(value))} is not a valid ISO 8601 time`);
  return date;
}

/** GitLab's `Time` scalar: an ISO 8601 date and time, such as `2022-07-26T05:43:53.662Z`. */
export const TimeScalar = new GraphQLScalarType<Date, string>({
  name: 'Time',
  description: 'Time represented in ISO 8601, such as `2022-07-26T05:43:53.662Z`.',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING)
      throw new GraphQLError(
        `${JSON.stringify(String((ast as { value?: unknown }).value))} is not a valid ISO 8601 time`,
      );
    return parseTime(ast.value);
  },
});
