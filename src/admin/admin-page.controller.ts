import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ADMIN_PAGE_CSP, AdminPage } from './admin-page';

/** `GET /admin`: the operator's page. It holds no data; it calls the JSON API with the operator's token. */
@ApiExcludeController()
@Controller('admin')
export class AdminPageController {
  constructor(private readonly page: AdminPage) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', ADMIN_PAGE_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-store')
  @Header('X-Frame-Options', 'DENY')
  @Header('Cross-Origin-Opener-Policy', 'same-origin')
  show(): string {
    return this.page.html;
  }
}
