// Checks of single string values, shared by the readers: each says what is wrong, or null.
import { type ConfigErrorCode, ConfigErrorCodes } from '../errors.js';
import { parseCidr } from '../values/cidr.js';
import { compileGoRegexp } from '../values/go-regexp.js';
import { isHeaderName, isHeaderValue, isRequestPath } from '../values/http-syntax.js';
import type { ValueProblem } from './shape.js';

export function regexCheck(pattern: string): ValueProblem | null {
  const compiled = compileGoRegexp(pattern);
  return compiled.ok
    ? null
    : { code: ConfigErrorCodes.INVALID_REGEX, message: `${JSON.stringify(pattern)}: ${compiled.message}` };
}

export function cidrCheck(text: string): ValueProblem | null {
  return parseCidr(text.trim()) === null
    ? {
        code: ConfigErrorCodes.INVALID_CIDR,
        message: `${JSON.stringify(text)} is not an IP address or CIDR range`,
      }
    : null;
}

export function headerNameCheck(name: string): ValueProblem | null {
  return isHeaderName(name)
    ? null
    : { code: ConfigErrorCodes.INVALID_TYPE, message: `${JSON.stringify(name)} is not a valid header name` };
}

/** Strings that end up inside a response header. */
export function headerValueCheck(value: string): ValueProblem | null {
  return isHeaderValue(value)
    ? null
    : { code: ConfigErrorCodes.INVALID_TYPE, message: 'contains a control character or line break' };
}

export function requestPathCheck(value: string): ValueProblem | null {
  return isRequestPath(value)
    ? null
    : {
        code: ConfigErrorCodes.INVALID_TYPE,
        message: 'must start with / and contain no spaces or control characters',
      };
}

export function portCheck(value: string): ValueProblem | null {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : 0;
  return port >= 1 && port <= 65535
    ? null
    : {
        code: ConfigErrorCodes.INVALID_TYPE,
        message: `must be a port from 1 to 65535, got ${JSON.stringify(value)}`,
      };
}

/** The realm is sent quoted in WWW-Authenticate. */
export function realmCheck(value: string): ValueProblem | null {
  return isHeaderValue(value) && !value.includes('"')
    ? null
    : {
        code: ConfigErrorCodes.INVALID_TYPE,
        message: 'must not contain quotes, control characters or line breaks',
      };
}

export function urlCheck(text: string): ValueProblem | null {
  return absoluteUrlCheck(text, ['http:', 'https:']);
}

/** A loadBalancer server: `h2c://` too, Traefik's HTTP/2 over plain text (gRPC servers). */
export function serverUrlCheck(text: string): ValueProblem | null {
  return absoluteUrlCheck(text, ['http:', 'https:', 'h2c:']);
}

function absoluteUrlCheck(text: string, schemes: readonly string[]): ValueProblem | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return {
      code: ConfigErrorCodes.INVALID_URL,
      message: `${JSON.stringify(text)} is not an absolute URL (expected http://host:port)`,
    };
  }
  if (!schemes.includes(url.protocol)) {
    const names = schemes.map((s) => s.slice(0, -1));
    return {
      code: ConfigErrorCodes.INVALID_URL,
      message: `${JSON.stringify(text)} has scheme '${url.protocol.slice(0, -1)}'; only ${names.slice(0, -1).join(', ')} and ${names.at(-1)} are supported`,
    };
  }
  if (url.hostname === '')
    return { code: ConfigErrorCodes.INVALID_URL, message: `${JSON.stringify(text)} has no host` };
  return null;
}

export function cookieNameCheck(name: string): ValueProblem | null {
  return isHeaderName(name)
    ? null
    : { code: ConfigErrorCodes.INVALID_TYPE, message: `${JSON.stringify(name)} is not a valid cookie name` };
}

/** Goes into Set-Cookie as `; Path=...`: a `;` would start another attribute. */
export function cookieAttributeCheck(value: string): ValueProblem | null {
  return isHeaderValue(value) && !value.includes(';')
    ? null
    : {
        code: ConfigErrorCodes.INVALID_TYPE,
        message: 'must not contain ";", control characters or line breaks',
      };
}

/** Methods are tokens, like header names; Node refuses anything else. */
export function methodCheck(method: string): ValueProblem | null {
  return isHeaderName(method)
    ? null
    : { code: ConfigErrorCodes.INVALID_TYPE, message: `${JSON.stringify(method)} is not an HTTP method` };
}

/** Rule errors carry plain strings; map them back onto the catalogue so the types stay closed. */
export function ruleCode(code: string): ConfigErrorCode {
  const codes: readonly ConfigErrorCode[] = [
    ConfigErrorCodes.RULE_UNKNOWN_MATCHER,
    ConfigErrorCodes.RULE_ARGS,
  ];
  return codes.find((known) => known === code) ?? ConfigErrorCodes.RULE_SYNTAX;
}
