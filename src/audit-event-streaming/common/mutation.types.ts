import { Field, InputType, ObjectType } from '@nestjs/graphql';

/** GitLab's mutation shape: `input: { clientMutationId, ... }`, every payload with `errors`. */
@InputType({ isAbstract: true })
export abstract class MutationInput {
  @Field(() => String, { nullable: true })
  clientMutationId?: string | null;
}

@ObjectType({ isAbstract: true })
export abstract class MutationPayload {
  @Field(() => String, { nullable: true })
  clientMutationId?: string | null;

  @Field(() => [String], { description: 'Errors encountered during the mutation.' })
  errors: string[];
}
