import axios, { AxiosInstance } from 'axios';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
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

/** Reads at most `limit` bytes of a response, then lets the rest go. */
async function readExcerpt(stream: Readable, limit: number, deadlineMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stream.removeAllListeners('data');
      stream.destroy();
      // Kept as text in the database: PostgreSQL's text refuses NUL, which binary bodies hold.
      resolve(
        Buffer.concat(chunks).subarray(0, limit).toString('utf8').replaceAll('\u0000', '\ufffd'),
      );
    };
    const timer = setTimeout(done, deadlineMs);
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) done();
    });
    stream.on('end', done);
    stream.on('error', done);
  });
}

/**
 * The HTTP side of delivery: one POST, keep-alive agents whose DNS lookup goes through the URL
 * safety check (so the socket connects to the address that was checked), no redirects, no
 * environment proxy, bounded time and bounded response reading. Never throws.
 */
export class HttpTransport {
  private readonly client: AxiosInstance;
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly options: DeliveryOptions) {
    const lookup = safeLookup(options) as unknown as http.AgentOptions['lookup'];
    const agentOptions = { keepAlive: true, maxSockets: 64, timeout: options.timeoutMs, lookup };
    this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    this.client = axios.create({
      timeout: options.timeoutMs,
      maxRedirects: 0,
      proxy: false,
      decompress: false,
      responseType: 'stream',
      validateStatus: () => true,
      maxBodyLength: options.maxBodyBytes,
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
      transitional: {
        clarifyTimeoutError: true,
        silentJSONParsing: true,
        forcedJSONParsing: false,
      },
    });
  }

  /** One delivery request, refused without a connection when larger than GitLab's 25 MB cap. */
  send(
    url: string,
    request: { body: string; headers: Record<string, string> },
  ): Promise<AttemptResult> {
    if (Buffer.byteLength(request.body) > this.options.maxBodyBytes) {
      return Promise.resolve({
        ok: false,
        statusCode: null,
        error: `Payload larger than the ${Math.round(this.options.maxBodyBytes / 1024 / 1024)} MB limit`,
        retryAfterMs: null,
        responseExcerpt: null,
        latencyMs: 0,
      });
    }
    return this.post(url, request.body, request.headers);
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<AttemptResult> {
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
      // The exact bytes that were signed (axios would re-parse a JSON string), and an
      // uncompressed answer unless the destination's own headers ask otherwise.
      const response = await this.client.post(url, Buffer.from(body, 'utf8'), {
        headers: { 'Accept-Encoding': 'identity', ...headers },
      });
      const excerpt = await readExcerpt(
        response.data as Readable,
        this.options.responseExcerptBytes,
        this.options.timeoutMs,
      );
      const ok = response.status >= 200 && response.status < 300;
      return result({
        ok,
        statusCode: response.status,
        error: ok ? null : `HTTP ${response.status}`,
        retryAfterMs: parseRetryAfter(response.headers['retry-after'] as string | undefined),
        responseExcerpt: excerpt,
      });
    } catch (err) {
      const message =
        err instanceof UrlBlockedError ? err.message : (err as Error).message || String(err);
      return result({ error: message.slice(0, 1000) });
    }
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
