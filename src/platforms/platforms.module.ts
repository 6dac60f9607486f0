import { Module } from '@nestjs/common';
import { EsignAnywhereModule } from './esignanywhere/esignanywhere.module';
import { EsignAnywherePlatform } from './esignanywhere/esignanywhere.platform';
import { SIGNING_PLATFORMS, type SigningPlatform } from './signing-platform';

/** Every platform the pipeline can archive from, by name. */
@Module({
  imports: [EsignAnywhereModule],
  providers: [
    EsignAnywherePlatform,
    {
      provide: SIGNING_PLATFORMS,
      inject: [EsignAnywherePlatform],
      useFactory: (...platforms: SigningPlatform[]) => new Map(platforms.map((p) => [p.name, p])),
    },
  ],
  exports: [SIGNING_PLATFORMS, EsignAnywhereModule],
})
export class PlatformsModule {}
