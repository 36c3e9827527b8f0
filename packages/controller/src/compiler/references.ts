// Names that point at other elements: `auth@file` is `auth`, as Traefik qualifies names by provider.

/** Providers whose qualifier Berth accepts and drops; all of Berth's providers share one namespace. */
const PROVIDERS = new Set(['docker', 'file', 'internal']);

/** `auth@file` → `auth`; a name with an unknown provider is left as written (and then is not found). */
export function stripProvider(name: string): string {
  const at = name.lastIndexOf('@');
  if (at <= 0) return name;
  return PROVIDERS.has(name.slice(at + 1).toLowerCase()) ? name.slice(0, at) : name;
}

/** Traefik's built-in transport, always there without being declared. */
export function isBuiltinTransport(name: string): boolean {
  return stripProvider(name) === 'default';
}
