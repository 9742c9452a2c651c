import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_DELIVERY } from '../audit-event-streaming.options';
import { HttpTransport } from './http-transport';

/** A loopback server answering with `answer`; records what it received. */
async function serve(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; received: { headers: any; body: Buffer }[] }> {
  const received: { headers: any; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/** Servers a describe block starts; they and the transport close after it. */
function closedAfterAll(transport: HttpTransport): Server[] {
  const servers: Server[] = [];
  afterAll(() => {
    transport.close();
    for (const s of servers) s.close();
  });
  return servers;
}

describe('HttpTransport', () => {
  const transport = new HttpTransport({
    ...DEFAULT_DELIVERY,
    allowLocalRequests: true,
    timeoutMs: 2000,
  });
  const servers = closedAfterAll(transport);

  it('sends the body byte for byte and asks for an uncompressed answer', async () => {
    const target = await serve((_, res) => res.end('ok'));
    servers.push(target.server);
    const body = JSON.stringify({ id: '1', target_details: 'Zoë 😀' });
    const result = await transport.post(`${target.url}/x`, body, {
      'Content-Type': 'application/json',
    });
    expect(result).toMatchObject({ ok: true, statusCode: 200, error: null, responseExcerpt: 'ok' });
    expect(target.received[0].body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(target.received[0].headers['content-length']).toBe(
      String(Buffer.byteLength(body, 'utf8')),
    );
    expect(target.received[0].headers['accept-encoding']).toBe('identity');
  });

  it('keeps a response excerpt the database can store, even from a binary answer', async () => {
    const target = await serve((_, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x61, 0x62]));
    });
    servers.push(target.server);
    const result = await transport.post(target.url, '{}', { 'Content-Type': 'application/json' });
    expect(result.ok).toBe(true);
    expect(result.responseExcerpt).not.toContain('\u0000');
    expect(result.responseExcerpt).toContain('ab');
  });

  it('does not follow redirects', async () => {
    const elsewhere = await serve((_, res) => res.end('stolen'));
    const target = await serve((_, res) => {
      res.writeHead(307, { Location: `${elsewhere.url}/stolen` });
      res.end();
    });
    servers.push(elsewhere.server, target.server);
    const result = await transport.post(target.url, '{}', { 'Content-Type': 'application/json' });
    expect(result).toMatchObject({ ok: false, statusCode: 307, error: 'HTTP 307' });
    expect(elsewhere.received).toHaveLength(0);
  });

  it('refuses a loopback address when local requests are not allowed', async () => {
    const strict = new HttpTransport({ ...DEFAULT_DELIVERY, allowLocalRequests: false });
    try {
      const result = await strict.post('http://127.0.0.1:9/x', '{}', {});
      expect(result.ok).toBe(false);
      expect(result.statusCode).toBeNull();
      expect(result.error).toMatch(/loopback addresses are not allowed/);
    } finally {
      strict.close();
    }
  });
});

describe('HttpTransport timeouts and answers', () => {
  const transport = new HttpTransport({
    ...DEFAULT_DELIVERY,
    allowLocalRequests: true,
    timeoutMs: 300,
    responseExcerptBytes: 16,
  });
  const servers = closedAfterAll(transport);

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const target = await serve(() => undefined);
    servers.push(target.server);
    const result = await transport.post(target.url, '{}', { 'Content-Type': 'application/json' });
    expect(result).toMatchObject({ ok: false, statusCode: null });
    expect(result.error).toBe('timeout of 300ms exceeded');
  });

  it('keeps only the start of a long answer, and reads Retry-After', async () => {
    const target = await serve((_, res) => {
      res.writeHead(429, { 'Retry-After': '7' });
      res.end('x'.repeat(100_000));
    });
    servers.push(target.server);
    const result = await transport.post(target.url, '{}', { 'Content-Type': 'application/json' });
    expect(result).toMatchObject({
      ok: false,
      statusCode: 429,
      error: 'HTTP 429',
      retryAfterMs: 7000,
      responseExcerpt: 'x'.repeat(16),
    });
  });

  it('says why a connection was refused', async () => {
    const target = await serve((_, res) => res.end());
    await new Promise((resolve) => target.server.close(resolve));
    const result = await transport.post(target.url, '{}', {});
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it('reuses one keep-alive connection for requests one after the other', async () => {
    const target = await serve((_, res) => res.end('ok'));
    servers.push(target.server);
    const sockets = new Set<unknown>();
    target.server.on('connection', (socket) => sockets.add(socket));
    for (let i = 0; i < 5; i++) await transport.post(target.url, '{}', {});
    expect(target.received).toHaveLength(5);
    expect(sockets.size).toBe(1);
  });
});
