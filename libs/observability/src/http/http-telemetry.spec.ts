import { Logger, type LoggerService } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PushMetrics } from '../push-metrics';
import { HttpTelemetry, routeTemplate } from './http-telemetry';

type Req = Parameters<typeof routeTemplate>[0];
const req = (r: Partial<Req> & { path?: string }): Req =>
  ({
    method: 'GET',
    headers: {},
    baseUrl: '',
    ...r,
    route: r.path !== undefined ? { path: r.path } : r.route,
  }) as unknown as Req;

describe('routeTemplate', () => {
  it.each([
    [{ path: '/v1/registrations/:id' }, '/v1/registrations/:id'],
    [{ path: '/v1/topics/:topic/registrations' }, '/v1/topics/:topic/registrations'],
    [{ baseUrl: '/admin/queues', path: '/api/queues/:queueName' }, '/admin/queues/api/queues/:queueName'],
    [{ baseUrl: '/admin/queues', path: '/' }, '/admin/queues'],
    [{ baseUrl: '/admin/queues/static' }, '/admin/queues/static/*'],
    [{}, 'unmatched'],
  ])('%j → %s', (r, expected) => {
    expect(routeTemplate(req(r))).toBe(expected);
  });
});

class Recorder implements LoggerService {
  readonly lines: { level: string; message: unknown }[] = [];
  log(message: unknown) {
    this.lines.push({ level: 'log', message });
  }
  error(message: unknown) {
    this.lines.push({ level: 'error', message });
  }
  warn(message: unknown) {
    this.lines.push({ level: 'warn', message });
  }
  debug(message: unknown) {
    this.lines.push({ level: 'debug', message });
  }
}

function fakeResponse(status: number, finished: boolean) {
  const res = new EventEmitter() as EventEmitter & Partial<ServerResponse>;
  Object.assign(res, { statusCode: status, writableFinished: finished, getHeader: () => undefined });
  return res as unknown as ServerResponse;
}

describe('HttpTelemetry', () => {
  afterEach(() => Logger.overrideLogger(false));

  it('logs method, route template, status, ms and request id, never the path or query', async () => {
    const recorder = new Recorder();
    Logger.overrideLogger(recorder);
    const metrics = new PushMetrics();
    const sut = new HttpTelemetry(metrics);
    const r = req({
      method: 'DELETE',
      path: '/v1/registrations/:id',
      headers: { 'x-request-id': 'rid-1', authorization: 'Bearer secret' },
    });
    Object.assign(r, {
      url: '/v1/registrations/AbCdEf?token=secret',
      originalUrl: '/v1/registrations/AbCdEf?token=secret',
    });
    const res = fakeResponse(204, true);
    sut.middleware(r as unknown as IncomingMessage, res, () => undefined);
    res.emit('close');
    expect(recorder.lines).toHaveLength(1);
    expect(recorder.lines[0]).toMatchObject({
      level: 'log',
      message: {
        msg: 'http request',
        method: 'DELETE',
        route: '/v1/registrations/:id',
        status: 204,
        requestId: 'rid-1',
      },
    });
    expect(JSON.stringify(recorder.lines)).not.toMatch(/AbCdEf|secret/);
    const text = await metrics.registry.getSingleMetricAsString('davpush_http_request_duration_seconds');
    expect(text).toContain(
      'davpush_http_request_duration_seconds_count{method="DELETE",route="/v1/registrations/:id",status="204"} 1',
    );
  });

  it('records a client that hung up as 499, probes at debug and 5xx as errors', () => {
    const recorder = new Recorder();
    Logger.overrideLogger(recorder);
    const sut = new HttpTelemetry(new PushMetrics());
    sut.record(req({ path: '/v1/events' }) as unknown as IncomingMessage, fakeResponse(200, false), 5);
    sut.record(req({ path: '/health/ready' }) as unknown as IncomingMessage, fakeResponse(200, true), 1);
    sut.record(req({ path: '/v1/events' }) as unknown as IncomingMessage, fakeResponse(503, true), 1);
    expect(recorder.lines.map((l) => [l.level, (l.message as { status: number }).status])).toEqual([
      ['log', 499],
      ['debug', 200],
      ['error', 503],
    ]);
  });
});
