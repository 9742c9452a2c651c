import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/** GitLab's global IDs: `gid://gitlab/<Model>/<n>`. */
export const GID_MODELS = {
  group: 'Group',
  project: 'Project',
  projectNamespace: 'Namespaces::ProjectNamespace',
  user: 'User',
  destination: 'AuditEvents::ExternalAuditEventDestination',
  header: 'AuditEvents::Streaming::Header',
  namespaceFilter: 'AuditEvents::Streaming::HTTP::NamespaceFilter',
  delivery: 'AuditEvents::Streaming::Delivery',
  deliveryAttempt: 'AuditEvents::Streaming::DeliveryAttempt',
  replay: 'AuditEvents::Streaming::Replay',
} as const;

const GID = /^gid:\/\/gitlab\/([A-Za-z:]+)\/(\d+)$/;

export function toGlobalId(model: string, id: number | string): string {
  return `gid://gitlab/${model}/${id}`;
}

/**
 * A GitLab ID input scalar: accepts only `gid://gitlab/<model>/<n>` and yields the number, with
 * GitLab's coercion errors for malformed and wrong-type IDs.
 */
export function globalIdScalar(name: string, model: string): GraphQLScalarType<number, string> {
  const parse = (value: unknown): number => {
    const match = typeof value === 'string' ? GID.exec(value) : null;
    if (!match) throw new GraphQLError(`${JSON.stringify(String(value))} is not a valid Global ID`);
    if (match[1] !== model) throw new GraphQLError(`Expected a ${model} ID, got ${value}`);
    const id = Number(match[2]);
    if (!Number.isSafeInteger(id))
      throw new GraphQLError(`${JSON.stringify(value)} is not a valid Global ID`);
    return id;
  };
  return new GraphQLScalarType<number, string>({
    name,
    description: `A global identifier of a \`${model}\`, such as \`gid://gitlab/${model}/1\`.`,
    serialize: (value) => toGlobalId(model, value as number),
    parseValue: parse,
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING)
        throw new GraphQLError(
          `${JSON.stringify(String((ast as { value?: unknown }).value))} is not a valid Global ID`,
        );
      return parse(ast.value);
    },
  });
}
