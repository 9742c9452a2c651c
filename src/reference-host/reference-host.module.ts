import {
  DynamicModule,
  MiddlewareConsumer,
  Module,
  NestModule,
  OnApplicationBootstrap,
  Inject,
} from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEventStreamingModule } from '../audit-event-streaming';
import { AuditEventsController } from './audit/audit-events.controller';
import { AuthMiddleware } from './auth/auth.middleware';
import { AuthService } from './auth/auth.service';
import { APP_CONFIG, AppConfig } from './config';
import { REFERENCE_HOST_ENTITIES } from './entities';
import { HostResolver } from './graphql/host.resolver';
import { MetricsController } from './metrics/metrics.controller';
import { GroupAccess } from './groups/group-access.service';
import { GroupsController } from './groups/groups.controller';
import { GroupsService } from './groups/groups.service';
import { ReferenceHostAdapter } from './host-adapter';
import { streamingOptions } from './streaming-options';
import { ProjectsController } from './projects/projects.controller';
import { ProjectsService } from './projects/projects.service';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

/** The host port's implementation, on its own so the plugin's options can depend on it. */
@Module({
  imports: [TypeOrmModule.forFeature(REFERENCE_HOST_ENTITIES)],
  providers: [GroupAccess, ReferenceHostAdapter],
  exports: [GroupAccess, ReferenceHostAdapter],
})
export class ReferenceHostPortModule {}

/**
 * The GitLab-like demo host: users, tokens, groups, projects, members and a REST v4 subset.
 * It records audit events through the plugin and implements the plugin's host port.
 */
@Module({})
export class ReferenceHostModule implements NestModule, OnApplicationBootstrap {
  static register(config: AppConfig): DynamicModule {
    return {
      module: ReferenceHostModule,
      imports: [
        TypeOrmModule.forFeature(REFERENCE_HOST_ENTITIES),
        ReferenceHostPortModule,
        AuditEventStreamingModule.forRootAsync({
          imports: [ReferenceHostPortModule],
          inject: [ReferenceHostAdapter],
          useFactory: (host: ReferenceHostAdapter) => streamingOptions(config, host),
        }),
      ],
      controllers: [
        UsersController,
        GroupsController,
        ProjectsController,
        AuditEventsController,
        MetricsController,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        AuthService,
        UsersService,
        GroupsService,
        ProjectsService,
        HostResolver,
      ],
      exports: [UsersService, GroupsService, ProjectsService, AuthService],
    };
  }

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
  ) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuthMiddleware).forRoutes('*path');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.users.seedAdmin(this.config.adminToken);
  }
}
