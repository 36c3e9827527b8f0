// forwardAuth: asks an HTTP server whether each request may pass, as Traefik v3's pkg/middlewares/auth/forward.go.
import { Agent as HttpAgent, type IncomingMessage, type OutgoingHttpHeaders, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { compileGoRegexp, type ForwardAuthMiddleware } from '@berth/config';
import {
  type Middleware,
  type MiddlewareBuildContext,
  MiddlewareConfigError,
  type MiddlewareFactory,
  type RequestContext,
} from '../context.js';
import { connectionTokens, FORWARDED } from '../forwarded-headers.js';
import { HttpRequestContext } from '../request-context.js';
import { respondText } from '../respond-text.js';
import { hasRequestBody } from './has-request-body.js';
import { readLimited } from './read-limited.js';

/** Traefik's client timeout for the whole auth exchange: no request waits on the auth server longer. */
export const AUTH_TIMEOUT_MS = 30_000;
/**
 * Berth bounds what Traefik leaves unlimited by default (-1): an auth server's answer, and the
 * request body sent with `forwardBody`, are held in memory. `-1` still asks for no limit.
 */
export const DEFAULT_MAX_RESPONSE_BODY = 4 * 1024 * 1024;
export const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

/** Hop-by-hop headers not sent to the auth server; Proxy-Authorization is (RFC 7235 §4.4), as in Traefik. */
const AUTH_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Hop-by-hop headers of the auth server's answer, not passed to the client. */
const RESPONSE_HOP = new Set([...AUTH_HOP, 'proxy-connection', 'content-length']);

/** Go's http.CanonicalHeaderKey, for matching authResponseHeadersRegex as Traefik does. */
export function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

interface AuthRequestInput {
  /** The client's headers, `[name, value, ...]`. */
  rawHeaders: readonly string[];
  /** Headers earlier middlewares set or removed (lower-case names). */
  overrides: Readonly<Record<string, string | undefined>>;
  /** The client's X-Forwarded-* are believed. */
  trusted: boolean;
  peerIp: string;
  scheme: 'http' | 'https';
  method: string;
  host: string | undefined;
  /** Origin-form target after earlier middlewares. */
  uri: string;
  nodeName: string;
}

/**
 * The auth request's headers, lower-case names. First what the request looks like at this point
 * in Traefik (its entry point has dropped untrusted X-Forwarded-* and set Proto, Host, Port,
 * Server and Real-Ip), then Traefik's writeHeader (trustForwardHeader set) or oldWriteHeader (unset).
 */
export function authRequestHeaders(
  input: AuthRequestInput,
  trustForwardHeader: boolean | undefined,
  allowed: readonly string[] | undefined,
): Record<string, string[]> {
  const headers: Record<string, string[]> = Object.create(null);
  const add = (name: string, value: string) => {
    const list = headers[name];
    if (list === undefined) headers[name] = [value];
    else list.push(value);
  };
  const named = new Set<string>();
  for (let i = 0; i + 1 < input.rawHeaders.length; i += 2) {
    if (input.rawHeaders[i]!.toLowerCase() === 'connection')
      for (const t of connectionTokens(input.rawHeaders[i + 1]!)) named.add(t);
  }
  for (let i = 0; i + 1 < input.rawHeaders.length; i += 2) {
    const lower = input.rawHeaders[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`) are no headers of an HTTP/1.1 request.
    if (lower.startsWith(':') || (FORWARDED.has(lower) && !input.trusted)) continue;
    // Go's client sends the address's host, and the length of the body it sends, whatever the request carried.
    if (
      lower === 'host' ||
      lower === 'content-length' ||
      AUTH_HOP.has(lower) ||
      named.has(lower) ||
      Object.hasOwn(input.overrides, lower)
    )
      continue;
    add(lower, input.rawHeaders[i + 1]!);
  }
  for (const [name, value] of Object.entries(input.overrides)) {
    if (value !== undefined && name !== 'host' && name !== 'content-length' && !AUTH_HOP.has(name))
      headers[name] = [value];
  }
  // What Traefik's entry point sets before any middleware runs.
  headers['x-forwarded-proto'] ??= [input.scheme];
  if (input.host !== undefined) headers['x-forwarded-host'] ??= [input.host];
  headers['x-forwarded-port'] ??= [portOf(input.host, headers['x-forwarded-proto'][0]!)];
  if (input.nodeName !== '') headers['x-forwarded-server'] ??= [input.nodeName];
  headers['x-real-ip'] ??= [input.peerIp];

  let allow = allowed !== undefined && allowed.length > 0 ? allowed.map((h) => h.toLowerCase()) : undefined;
  if (trustForwardHeader === false)
    for (const name of Object.keys(headers)) if (FORWARDED.has(name)) delete headers[name];
  if (trustForwardHeader === true && allow !== undefined) allow = [...allow, ...FORWARDED];
  const out: Record<string, string[]> = Object.create(null);
  if (allow === undefined) Object.assign(out, headers);
  else for (const name of allow) if (headers[name] !== undefined) out[name] = headers[name];

  if (trustForwardHeader === undefined) {
    out['x-forwarded-for'] = [input.peerIp];
    out['x-forwarded-proto'] = [input.scheme];
    out['x-forwarded-method'] = [input.method];
    if (input.host !== undefined) out['x-forwarded-host'] = [input.host];
    out['x-forwarded-uri'] = [input.uri];
    return out;
  }
  const prior = out['x-forwarded-for'];
  out['x-forwarded-for'] = [prior === undefined ? input.peerIp : `${prior.join(', ')}, ${input.peerIp}`];
  out['x-forwarded-method'] ??= [input.method];
  out['x-forwarded-proto'] ??= [input.scheme];
  out['x-forwarded-port'] ??= [portOf(input.host, out['x-forwarded-proto'][0]!)];
  if (input.host !== undefined) out['x-forwarded-host'] ??= [input.host];
  out['x-forwarded-uri'] ??= [input.uri];
  return out;
}

function portOf(host: string | undefined, proto: string): string {
  if (host !== undefined) {
    const close = host.lastIndexOf(']');
    const colon = host.lastIndexOf(':');
    if (colon > close && colon < host.length - 1) return host.slice(colon + 1);
  }
  return proto === 'https' || proto === 'wss' ? '443' : '80';
}

/** `name` of a Set-Cookie value. */
function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq < 0 ? '' : setCookie.slice(0, eq)).trim();
}

function asList(value: string | string[] | number | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [String(value)];
}

interface AuthAnswer {
  status: number;
  res: IncomingMessage;
  body: Buffer;
}

type AuthOutcome = AuthAnswer | { failed: 'unreachable' | 'too-large' | 'gone'; message: string };

/** forwardAuth with another bound on the auth exchange (tests). */
export function forwardAuthWithin(timeoutMs: number): MiddlewareFactory<'forwardAuth'> {
  return (config, build) => makeForwardAuth(config, build, timeoutMs);
}

export const forwardAuth: MiddlewareFactory<'forwardAuth'> = forwardAuthWithin(AUTH_TIMEOUT_MS);

function makeForwardAuth(
  config: ForwardAuthMiddleware,
  build: MiddlewareBuildContext,
  timeoutMs: number,
): Middleware {
  const what = `forwardAuth ${build.name}`;
  let address: URL;
  try {
    address = new URL(config.address);
  } catch {
    throw new MiddlewareConfigError(`${what}: address ${JSON.stringify(config.address)} is not a URL`);
  }
  if (address.protocol !== 'http:' && address.protocol !== 'https:')
    throw new MiddlewareConfigError(`${what}: address must be http:// or https://`);
  let regex: RegExp | undefined;
  if (config.authResponseHeadersRegex !== undefined && config.authResponseHeadersRegex !== '') {
    const compiled = compileGoRegexp(config.authResponseHeadersRegex);
    if (!compiled.ok)
      throw new MiddlewareConfigError(`${what}: authResponseHeadersRegex: ${compiled.message}`);
    regex = compiled.regexp;
  }
  const https = address.protocol === 'https:';
  const tls = config.tls;
  if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined))
    throw new MiddlewareConfigError(`${what}: tls.cert and tls.key go together`);
  // One keep-alive pool per middleware, as Traefik's http.Client per forwardAuth.
  const agent = https
    ? new HttpsAgent({
        keepAlive: true,
        ...(tls?.ca ? { ca: tls.ca } : {}),
        ...(tls?.cert ? { cert: tls.cert, key: tls.key } : {}),
        rejectUnauthorized: tls?.insecureSkipVerify !== true,
      })
    : new HttpAgent({ keepAlive: true });
  const send = https ? httpsRequest : request;
  const maxBody = config.maxBodySize ?? DEFAULT_MAX_BODY;
  const maxResponse = config.maxResponseBodySize ?? DEFAULT_MAX_RESPONSE_BODY;
  const copied = (config.authResponseHeaders ?? []).map((h) => h.toLowerCase());
  const authCookies = new Set(config.addAuthCookiesToResponse ?? []);

  const ask = (ctx: RequestContext, headers: Record<string, string[]>, body: Buffer | null) =>
    new Promise<AuthOutcome>((resolve) => {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      const outgoing: OutgoingHttpHeaders = { ...headers };
      if (body !== null) outgoing['content-length'] = body.length;
      let req: ReturnType<typeof send>;
      try {
        req = send(address, {
          method: config.preserveRequestMethod ? ctx.req.method : 'GET',
          headers: outgoing,
          agent,
          signal,
        });
      } catch (err) {
        // Node refuses a header value it considers invalid before anything is sent.
        resolve({ failed: 'unreachable', message: (err as Error).message });
        return;
      }
      req.once('error', (err) =>
        resolve(
          ctx.signal.aborted
            ? { failed: 'gone', message: 'client gone' }
            : { failed: 'unreachable', message: timeout.aborted ? 'timed out' : err.message },
        ),
      );
      req.once('response', (res) => {
        void readLimited(res, maxResponse < 0 ? Number.MAX_SAFE_INTEGER : maxResponse, signal).then(
          (read) => {
            if (read.kind === 'complete')
              resolve({ status: res.statusCode ?? 500, res, body: Buffer.concat(read.chunks) });
            else {
              res.destroy();
              if (read.kind === 'too-large')
                resolve({ failed: 'too-large', message: 'response body too large' });
              else
                resolve({
                  failed: 'unreachable',
                  message: timeout.aborted ? 'timed out' : 'response cut short',
                });
            }
          },
        );
      });
      req.end(body ?? undefined);
    });

  return (next) => async (ctx) => {
    let body: Buffer | null = null;
    if (config.forwardBody && hasRequestBody(ctx) && !(ctx.req.method === 'CONNECT')) {
      const read = await readLimited(
        ctx.requestBody ?? ctx.req,
        maxBody < 0 ? Number.MAX_SAFE_INTEGER : maxBody,
        ctx.signal,
      );
      if (read.kind === 'too-large') {
        ctx.log.error = 'auth_body_too_large';
        return respondText(ctx, 401, '');
      }
      if (read.kind !== 'complete') {
        ctx.log.error = 'auth_body_read';
        return respondText(ctx, 500, '');
      }
      body = Buffer.concat(read.chunks);
      ctx.requestBody = Readable.from([body]);
      ctx.upstreamHeaders['content-length'] = String(body.length);
      ctx.upstreamHeaders['transfer-encoding'] = undefined;
    }
    const headers = authRequestHeaders(
      {
        rawHeaders: ctx.req.rawHeaders,
        overrides: ctx.upstreamHeaders,
        // Entry points build HttpRequestContexts; a bare context (unit tests) has no forwarded facts.
        trusted: ctx instanceof HttpRequestContext && ctx.trusted,
        peerIp: ctx instanceof HttpRequestContext ? ctx.peerIp : ctx.clientIp,
        scheme: ctx.scheme,
        method: ctx.req.method ?? 'GET',
        host: ctx.req.headers.host ?? (ctx.req.headers[':authority'] as string | undefined),
        uri: ctx.target,
        nodeName: ctx instanceof HttpRequestContext ? ctx.scope.nodeName : '',
      },
      config.trustForwardHeader,
      config.authRequestHeaders,
    );
    const answer = await ask(ctx, headers, body);
    if ('failed' in answer) {
      if (answer.failed === 'gone') return;
      build.logger.warn(
        { middleware: build.name, address: address.origin, reason: answer.message },
        'forwardAuth: auth server did not answer',
      );
      ctx.log.error = answer.failed === 'too-large' ? 'auth_response_too_large' : 'auth_unreachable';
      // Traefik: 401 for an oversized answer, 500 when the auth server cannot be asked.
      return respondText(ctx, answer.failed === 'too-large' ? 401 : 500, '');
    }
    const { status, res } = answer;
    if (config.authSigninURL && status === 401) {
      ctx.log.error = 'unauthorized';
      return ctx.respond(302, { location: config.authSigninURL, 'content-length': 0 }, null);
    }
    if (status < 200 || status >= 300) {
      const out: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(res.headers))
        if (value !== undefined && !RESPONSE_HOP.has(name)) out[name] = value;
      const location = res.headers.location;
      if (location !== undefined && !config.preserveLocationHeader) {
        // Go's Response.Location(): relative to the auth request's URL.
        try {
          out['location'] = new URL(location, address).href;
        } catch {
          ctx.log.error = 'auth_location';
          return respondText(ctx, 500, '');
        }
      }
      ctx.log.error = 'unauthorized';
      return ctx.respond(status, out, answer.body.length === 0 ? null : answer.body);
    }

    for (const name of copied) {
      const values = asList(res.headers[name]);
      ctx.upstreamHeaders[name] = values.length === 0 ? undefined : values.join(', ');
    }
    if (regex !== undefined) {
      for (let i = 0; i < ctx.req.rawHeaders.length; i += 2) {
        const name = ctx.req.rawHeaders[i]!;
        if (regex.test(canonicalHeaderKey(name))) ctx.upstreamHeaders[name.toLowerCase()] = undefined;
      }
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined && regex.test(canonicalHeaderKey(name)))
          ctx.upstreamHeaders[name] = asList(value).join(', ');
      }
    }
    const cookies = asList(res.headers['set-cookie']).filter((c) => authCookies.has(cookieName(c)));
    if (cookies.length > 0) {
      const inner = ctx.respond;
      ctx.respond = (st, hdrs, b) => {
        const kept = asList(hdrs['set-cookie'] as string | string[] | undefined).filter(
          (c) => !authCookies.has(cookieName(c)),
        );
        return inner(st, { ...hdrs, 'set-cookie': [...kept, ...cookies] }, b);
      };
    }
    return next(ctx);
  };
}
