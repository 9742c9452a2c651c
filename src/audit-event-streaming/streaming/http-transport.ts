import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { DeliveryOptions } from '../audit-event-streaming.options';
import { resolveSafeAddress, safeLookup, UrlBlockedError } from '../destinations/url-safety';
import { parseRetryAfter } from './retry-policy';

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  /** Why it failed: `HTTP 500`, `timeout of 8000ms exceeded`, `connect ECONNREFUSED ...`. */
  error: string | null;
  retryAfterMs: number | null;
  /** The start of the response body (at most `responseExcerptBytes`). */
  responseExcerpt: string | null;
  latencyMs: number;
}

/**
 * The HTTP side of delivery: one POST with Node's own `http`/`https` (a bare request costs about
 * a third of an axios call, and delivery is the worker's hot path), keep-alive agents whose DNS
 * lookup goes through the URL safety check (so the socket connects to the address that was
 * checked), no redirects, no environment proxy, bounded time and bounded response reading.
 * Never throws.
 */
export class HttpTransport {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly options: DeliveryOptions) {
    const lookup = safeLookup(options) as unknown as http.AgentOptions['lookup'];
    const agentOptions = {
      keepAlive: true,
      maxSockets: 64,
      // Idle sockets are reused newest first, so a quiet period lets the extra ones time out.
      scheduling: 'lifo' as const,
      timeout: options.timeoutMs,
      lookup,
    };
    this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  }

  /** One delivery request, refused without a connection when larger than GitLab's 25 MB cap. */
  send(
    url: string,
    request: { body: string; headers: Record<string, string> },
  ): Promise<AttemptResult> {
    const body = Buffer.from(request.body, 'utf8');
    if (body.length > this.options.maxBodyBytes) {
      return Promise.resolve({
        ok: false,
        statusCode: null,
        error: `Payload larger than the ${Math.round(this.options.maxBodyBytes / 1024 / 1024)} MB limit`,
        retryAfterMs: null,
        responseExcerpt: null,
        latencyMs: 0,
      });
    }
    return this.post(url, body, request.headers);
  }

  /** POSTs `body` (the exact bytes that were signed); the answer's status and start, or why not. */
  async post(
    url: string,
    body: string | Buffer,
    headers: Record<string, string>,
  ): Promise<AttemptResult> {
    const started = Date.now();
    const result = (r: Partial<AttemptResult>): AttemptResult => ({
      ok: false,
      statusCode: null,
      error: null,
      retryAfterMs: null,
      responseExcerpt: null,
      latencyMs: Date.now() - started,
      ...r,
    });
    try {
      const target = new URL(url);
      // Node does not call `lookup` for IP literals: check those here.
      if (isIP(target.hostname.replace(/^\[|\]$/g, '')))
        await resolveSafeAddress(target, this.options);
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const answer = await this.request(target, bytes, headers);
      const ok = answer.statusCode >= 200 && answer.statusCode < 300;
      return result({
        ok,
        statusCode: answer.statusCode,
        error: ok ? null : `HTTP ${answer.statusCode}`,
        retryAfterMs: parseRetryAfter(answer.retryAfter),
        responseExcerpt: answer.excerpt,
      });
    } catch (err) {
      const message =
        err instanceof UrlBlockedError ? err.message : (err as Error).message || String(err);
      return result({ error: message.slice(0, 1000) });
    }
  }

  /**
   * The request itself. The timeout is per read (as GitLab's read timeout: a receiver that keeps
   * sending resets it); the response is read up to `responseExcerptBytes`, within the timeout.
   */
  private request(
    target: URL,
    body: Buffer,
    headers: Record<string, string>,
  ): Promise<{ statusCode: number; retryAfter: string | undefined; excerpt: string }> {
    const { timeoutMs, responseExcerptBytes } = this.options;
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:')
      return Promise.reject(new Error(`Unsupported protocol ${target.protocol}`));
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        {
          agent: secure ? this.agents.https : this.agents.http,
          protocol: target.protocol,
          hostname: target.hostname.replace(/^\[|\]$/g, ''),
          port: target.port || undefined,
          path: `${target.pathname}${target.search}`,
          auth:
            target.username || target.password
              ? `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`
              : undefined,
          method: 'POST',
          // An uncompressed answer unless the destination's own headers ask otherwise.
          headers: {
            'User-Agent': USER_AGENT,
            'Accept-Encoding': 'identity',
            ...headers,
            'Content-Length': String(body.length),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let finished = false;
          const done = () => {
            if (finished) return;
            finished = true;
            clearTimeout(deadline);
            // Unread bytes would keep the socket busy: past the excerpt it is not reused.
            if (!res.complete) res.destroy();
            resolve({
              statusCode: res.statusCode ?? 0,
              retryAfter: res.headers['retry-after'],
              // Kept as text in the database: PostgreSQL's text refuses NUL, which binary bodies
              // hold.
              excerpt: Buffer.concat(chunks, size)
                .subarray(0, responseExcerptBytes)
                .toString('utf8')
                .replaceAll('\u0000', '\ufffd'),
            });
          };
          const deadline = setTimeout(done, timeoutMs);
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= responseExcerptBytes) done();
          });
          res.on('end', done);
          res.on('error', done);
          res.on('aborted', done);
        },
      );
      req.setTimeout(timeoutMs, () =>
        req.destroy(
          Object.assign(new Error(`timeout of ${timeoutMs}ms exceeded`), { code: 'ETIMEDOUT' }),
        ),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

const USER_AGENT = 'audit-event-streaming';
