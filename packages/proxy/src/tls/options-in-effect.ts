// Which `tls.options` entry applies to a server name on an entry point, as Traefik decides it. Pure.
import type { EntryPoint, HttpRouter, TcpRouter } from '@berth/config';
import { compileRule, compileTcpRule, parseRule, parseTcpRule, type RuleSyntax } from '@berth/config';
import { normaliseName } from './certificate-index.js';

export const TLS_OPTIONS_CONFLICT = 'BERTH_PROXY_TLS_OPTIONS_CONFLICT';
export const TLS_OPTIONS_UNKNOWN = 'BERTH_PROXY_TLS_OPTIONS_UNKNOWN';

/** A problem found while deciding the TLS options; the affected names fall back to `default`. */
export interface TlsProblem {
  code: string;
  entryPoint: string;
  /** The host concerned, when there is one. */
  host?: string;
  /** Routers involved. */
  routers: string[];
  message: string;
}

/** Server name → options name for one entry point; names no router binds get `default`. */
export class OptionsInEffect {
  readonly #exact: ReadonlyMap<string, string>;
  /** Keyed by the suffix with its dot (`.example.com`) of a `*.example.com` host. */
  readonly #wildcard: ReadonlyMap<string, string>;

  constructor(byHost: ReadonlyMap<string, string>) {
    const exact = new Map<string, string>();
    const wildcard = new Map<string, string>();
    for (const [host, options] of byHost) {
      if (host.startsWith('*.')) wildcard.set(host.slice(1), options);
      else exact.set(host, options);
    }
    this.#exact = exact;
    this.#wildcard = wildcard;
  }

  /** The options name for a server name (`''`: no SNI → `default`). */
  forName(serverName: string): string {
    if (serverName === '') return 'default';
    const name = normaliseName(serverName);
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const wildcard = this.#wildcard.get(name.slice(dot));
      if (wildcard !== undefined) return wildcard;
    }
    return 'default';
  }
}

/**
 * Traefik's rule: every HTTP router of the entry point that serves TLS (its own `tls`, or the
 * entry point's `http.tls`) and whose rule binds hosts ties those hosts to its options (the
 * router's `tls.options`, else the entry point's `http.tls.options`, else `default`). Two
 * routers tying one host to different options is a conflict: the host gets `default` and a
 * problem is reported. An options name the snapshot does not define also falls back to `default`.
 */
export function optionsInEffect(
  entryPointName: string,
  entryPoint: EntryPoint | undefined,
  routers: Readonly<Record<string, HttpRouter>>,
  known: ReadonlySet<string>,
  tcpRouters: Readonly<Record<string, TcpRouter>> = {},
): { options: OptionsInEffect; problems: TlsProblem[] } {
  const problems: TlsProblem[] = [];
  const epTls = entryPoint?.http?.tls;
  /** host → options name → routers. */
  const claims = new Map<string, Map<string, string[]>>();
  const claim = (
    name: string,
    tls: { options?: string } | undefined,
    hosts: readonly string[] | null,
  ): void => {
    let options = tls?.options ?? epTls?.options ?? 'default';
    if (!known.has(options)) {
      problems.push({
        code: TLS_OPTIONS_UNKNOWN,
        entryPoint: entryPointName,
        routers: [name],
        message: `router "${name}" uses TLS options "${options}", which do not exist; "default" applies`,
      });
      options = 'default';
    }
    if (hosts === null) return;
    for (const host of hosts) {
      const key = normaliseName(host);
      let byOptions = claims.get(key);
      if (byOptions === undefined) {
        byOptions = new Map();
        claims.set(key, byOptions);
      }
      const list = byOptions.get(options);
      if (list === undefined) byOptions.set(options, [name]);
      else list.push(name);
    }
  };
  for (const [name, router] of Object.entries(routers)) {
    if (router.entryPoints?.length && !router.entryPoints.includes(entryPointName)) continue;
    if ((router.tls ?? epTls) === undefined || typeof router.rule !== 'string') continue;
    const syntax = router.ruleSyntax === 'v2' ? 'v2' : 'v3';
    const parsed = parseRule(router.rule, syntax);
    claim(name, router.tls, parsed.ok ? compileRule(parsed.ast, syntax).hosts : null);
  }
  // TCP routers that terminate TLS tie their HostSNI names the same way (without the entry point's http.tls).
  for (const [name, router] of Object.entries(tcpRouters)) {
    if (router.entryPoints?.length && !router.entryPoints.includes(entryPointName)) continue;
    if (router.tls === undefined || router.tls.passthrough === true || typeof router.rule !== 'string')
      continue;
    claim(
      `tcp:${name}`,
      { options: router.tls.options ?? 'default' },
      hostSniNames(router.rule, router.ruleSyntax),
    );
  }
  const byHost = new Map<string, string>();
  for (const [host, byOptions] of claims) {
    if (byOptions.size === 1) {
      byHost.set(host, [...byOptions.keys()][0]!);
      continue;
    }
    const names = [...byOptions.keys()].sort();
    const involved = [...byOptions.values()].flat().sort();
    problems.push({
      code: TLS_OPTIONS_CONFLICT,
      entryPoint: entryPointName,
      host,
      routers: involved,
      message: `host "${host}" is bound to conflicting TLS options (${names.map((n) => `"${n}"`).join(', ')}) by routers ${involved.join(', ')}; "default" applies`,
    });
    byHost.set(host, 'default');
  }
  return { options: new OptionsInEffect(byHost), problems };
}

/** The server names a TCP rule binds (its `HostSNI` names), or null when it binds none. */
export function hostSniNames(rule: string, ruleSyntax?: RuleSyntax): string[] | null {
  const syntax = ruleSyntax === 'v2' ? 'v2' : 'v3';
  const parsed = parseTcpRule(rule, syntax);
  return parsed.ok ? compileTcpRule(parsed.ast, syntax).hosts : null;
}
