import { Module } from '@nestjs/common';
import { WebStaticService } from './web-static.service';

/** The browser pages: /realtime/dashboard/ and /realtime/test/ (built by Vite into web/dist). */
@Module({ providers: [WebStaticService] })
export class WebModule {}
