import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './database';
import { serializeSqliteTransactions } from './sqlite-transactions';
import { GitlabErrorFilter } from './reference-host/common/gitlab-errors';
import type { AppConfig } from './reference-host/config';
import { ReferenceHostModule } from './reference-host/reference-host.module';

/** The reference host's root: it owns the infrastructure roots; the plugin only adds features. */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => dataSourceOptions(config),
          dataSourceFactory: async (options) =>
            serializeSqliteTransactions(await new DataSource(options!).initialize()),
        }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          path: '/api/graphql',
          autoSchemaFile: true,
          sortSchema: true,
          playground: false,
          introspection: true,
          includeStacktraceInErrorResponses: false,
          context: ({ req }: { req: unknown }) => ({ req }),
        }),
        BullModule.forRoot({ redis: config.redisUrl, prefix: config.bullPrefix }),
        ReferenceHostModule.register(config),
      ],
      providers: [{ provide: APP_FILTER, useClass: GitlabErrorFilter }],
    };
  }
}
