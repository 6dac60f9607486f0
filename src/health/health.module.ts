import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { HealthController } from './health.controller';
import { HealthService, READINESS_CHECKS } from './health.service';

@Module({})
export class HealthModule {
  /** `checks` are providers of ReadinessCheck[] (by token) contributed by other modules. */
  static forRoot(
    checkTokens: (string | symbol)[] = [],
    imports: DynamicModule['imports'] = [],
  ): DynamicModule {
    const provider: Provider = {
      provide: READINESS_CHECKS,
      inject: checkTokens,
      useFactory: (...checks: unknown[]) => checks.map((c) => (Array.isArray(c) ? c : [c])),
    };
    return {
      module: HealthModule,
      imports,
      controllers: [HealthController],
      providers: [HealthService, provider],
    };
  }
}
