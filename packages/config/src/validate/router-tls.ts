// The `tls` block of HTTP routers, TCP routers and entry points, including the label form `tls=true`.
import { ConfigErrorCodes } from '../errors.js';
import type { Kind, Shape } from './shape.js';
import { readShape } from './shape.js';
import { describeValue, isRecord } from './values.js';

const str: Kind = { kind: 'string' };

/** `{main, sans}`: what a certificate resolver asks a certificate for. */
export const domainShape: Shape = { fields: { main: str, sans: { kind: 'stringList' } } };

export const routerTlsShape: Shape = {
  fields: {
    options: str,
    certResolver: str,
    domains: { kind: 'objectList', shape: domainShape },
  },
};

export const tcpRouterTlsShape: Shape = {
  fields: { ...routerTlsShape.fields, passthrough: { kind: 'boolean' } },
};

/**
 * Reads a `tls` field. `true` (the label `...tls=true`, or the string from a label) means `{}`:
 * TLS with every default. `false` means no TLS, as Traefik's label decoder leaves the block unset.
 * Returns undefined both for "no TLS" and after reporting; the caller tells them apart by its
 * problems scope.
 */
export function tlsKind(shape: Shape): Kind {
  return {
    kind: 'custom',
    read: (field, label, problems) => {
      const { value, at } = field;
      const flag = typeof value === 'string' ? value.trim().toLowerCase() : value;
      if (flag === true || flag === 'true') return {};
      if (flag === false || flag === 'false') return undefined;
      if (!isRecord(value)) {
        problems.report(
          ConfigErrorCodes.INVALID_TYPE,
          at,
          `${label} must be a mapping (${Object.keys(shape.fields).join(', ')}) or true, got ${describeValue(value)}`,
        );
        return undefined;
      }
      return readShape(value, at, label, shape, problems);
    },
  };
}
