import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AuditEventStreamingMetrics } from '../../audit-event-streaming';

/**
 * `GET /metrics`: Prometheus's text format, from the streaming plugin's own registry (the plugin
 * adds no routes; the host decides where its metrics live and who may read them). Unauthenticated,
 * as Prometheus scrapes; the labels hold no secrets (outcomes, queue states, destination ids).
 */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: AuditEventStreamingMetrics) {}

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() res: Response): Promise<void> {
    const body = await this.metrics.metrics();
    res.setHeader('Content-Type', this.metrics.contentType);
    res.end(body); // `send` would rewrite the content type (charset first)
  }
}
