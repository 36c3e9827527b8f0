// The public surface of @berth/config: the model, rules, validation and addresses.

export {
  type EntryPointProtocol,
  formatAddress,
  type HostPort,
  isUdpAddress,
  parseAddress,
  parseEntryPointAddress,
  stripProtocol,
} from './address.js';
export { type ConfigErrorCode, ConfigErrorCodes, configError } from './errors.js';
export {
  INTERNAL_SERVICES,
  type InternalService,
  internalService,
  isInternalRef,
} from './internal-services.js';
export * from './model.js';
export { compileRule } from './rule/compile.js';
export { HTTP_MATCHERS_V2, httpMatchers } from './rule/matchers-v2.js';
export { parseRule } from './rule/parser.js';
export { rulePriority } from './rule/priority.js';
export { compileTcpRule, parseTcpRule, TCP_MATCHERS, TCP_MATCHERS_V2, tcpMatchers } from './rule/tcp-rule.js';
export type * from './rule/types.js';
export {
  CIPHER_PROFILES,
  type CipherProfileName,
  IANA_TO_OPENSSL,
  nodeTlsVersion,
  opensslCipherName,
  TLS13_SUITES,
} from './tls/cipher-profiles.js';
export { validateDynamic } from './validate/dynamic.js';
export type { Validated, ValidateOptions, ValidationMemo } from './validate/report.js';
export { validateStatic } from './validate/static.js';
export { type Cidr, CidrSet, parseCidr } from './values/cidr.js';
export {
  type BreakerExpression,
  type BreakerMetric,
  type BreakerParse,
  evaluateBreakerExpression,
  parseBreakerExpression,
} from './values/circuit-breaker-expression.js';
export { formatDuration, parseDuration } from './values/duration.js';
export {
  compileGoRegexp,
  convertGoRegexp,
  convertGoReplacement,
  type GoRegexpResult,
  type GoRegexpSource,
} from './values/go-regexp.js';
export { type HtpasswdFormat, type HtpasswdLine, parseHtpasswdLine } from './values/htpasswd.js';
export { DEFAULT_HEALTHY_STATUS, normaliseStatusSpec, statusMatcher } from './values/status-range.js';
