// Validates raw static configuration: the entry points every proxy node listens on.
import { parseAddress } from '../address.js';
import { ConfigErrorCodes } from '../errors.js';
import type { EntryPoint, StaticConfig } from '../model.js';
import { readFields } from './fields.js';
import { readNamed } from './named.js';
import { type Element, Reporter, Trail, type Validated, type ValidateOptions } from './report.js';
import { describeValue, isPresent, isRecord, readRequiredString } from './values.js';

/** Never throws; an entry point with a bad address is dropped alone and reported. */
export function validateStatic(raw: unknown, opts: ValidateOptions = {}): Validated<StaticConfig> {
  const reporter = new Reporter(opts.sourceOf);
  const config: StaticConfig = { entryPoints: {} };
  const root = Trail.root();
  if (raw === null || raw === undefined) return { config, errors: reporter.errors };
  if (!isRecord(raw)) {
    reporter.report(
      ConfigErrorCodes.INVALID_TYPE,
      root,
      `static configuration must be a mapping of sections, got ${describeValue(raw)}`,
    );
    return { config, errors: reporter.errors };
  }
  const sections = readFields(
    raw,
    root,
    {
      subject: 'static configuration',
      supported: ['entryPoints'],
      unknownIsUnsupported: true,
      noun: 'section',
    },
    reporter,
  );
  if (isPresent(sections.entryPoints)) {
    const { value, at } = sections.entryPoints;
    config.entryPoints = readNamed(value, at, 'entry point', reporter, readEntryPoint);
  }
  return { config, errors: reporter.errors };
}

function readEntryPoint(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): EntryPoint | undefined {
  const fields = readFields(
    value,
    at,
    {
      subject,
      supported: ['address'],
      unsupported: [
        'asDefault',
        'forwardedHeaders',
        'http',
        'http2',
        'http3',
        'observability',
        'proxyProtocol',
        'reusePort',
        'transport',
        'udp',
      ],
    },
    el,
  );
  const address = readRequiredString(fields.address, at.child('address'), `${subject}: address`, el);
  if (address === undefined) return undefined;
  if (parseAddress(address) === null) {
    el.report(
      ConfigErrorCodes.INVALID_ADDRESS,
      fields.address?.at ?? at.child('address'),
      `${subject}: address ${JSON.stringify(address)} is not valid; expected ':port', 'host:port' or '[ipv6]:port' with a port from 0 to 65535`,
    );
    return undefined;
  }
  return { address };
}
