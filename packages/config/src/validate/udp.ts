// Validates the udp section: routers (entry points and a service, no rule) and services (servers or weighted).
import { parseAddress } from '../address.js';
import { ConfigErrorCodes } from '../errors.js';
import type { UdpConfig, UdpRouter, UdpService } from '../model.js';
import { readFields } from './fields.js';
import { readNamed } from './named.js';
import type { Element, Reporter, Trail } from './report.js';
import { readOneKind } from './services.js';
import type { Shape, ValueProblem } from './shape.js';
import { describeValue, isPresent, isRecord, readRequiredString, readStringList } from './values.js';

export function readUdp(value: unknown, at: Trail, reporter: Reporter): UdpConfig {
  const udp: UdpConfig = { routers: {}, services: {} };
  if (!isRecord(value)) {
    reporter.report(ConfigErrorCodes.INVALID_TYPE, at, `udp must be a mapping, got ${describeValue(value)}`);
    return udp;
  }
  const fields = readFields(
    value,
    at,
    { subject: 'the udp section', supported: ['routers', 'services'] },
    reporter,
  );
  if (isPresent(fields.routers)) {
    udp.routers = readNamed(fields.routers.value, fields.routers.at, 'udp router', reporter, readUdpRouter);
  }
  if (isPresent(fields.services)) {
    const { value: v, at: a } = fields.services;
    udp.services = readNamed(v, a, 'udp service', reporter, readUdpService);
  }
  return udp;
}

function readUdpRouter(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): UdpRouter | undefined {
  const fields = readFields(value, at, { subject, supported: ['service', 'entryPoints'] }, el);
  const service = readRequiredString(fields.service, at.child('service'), `${subject}: service`, el);
  const entryPoints = readStringList(fields.entryPoints, `${subject}: entryPoints`, el);
  if (service === undefined || !el.ok) return undefined;
  const router: UdpRouter = { service };
  if (entryPoints !== undefined) router.entryPoints = entryPoints;
  return router;
}

/** Datagrams go to `host:port`: a host and a real port are both needed. */
function serverAddressCheck(text: string): ValueProblem | null {
  const parsed = parseAddress(text.trim());
  return parsed !== null && parsed.host !== '' && parsed.port > 0
    ? null
    : {
        code: ConfigErrorCodes.INVALID_ADDRESS,
        message: `${JSON.stringify(text)} is not a server address; expected 'host:port' like '10.0.0.2:53' or '[2001:db8::2]:53', with a port from 1 to 65535`,
      };
}

const UDP_SERVICE_KINDS: Readonly<Record<keyof UdpService, Shape>> = {
  loadBalancer: {
    fields: {
      servers: {
        kind: 'objectList',
        shape: {
          fields: { address: { kind: 'string', check: serverAddressCheck } },
          required: ['address'],
        },
      },
    },
  },
  weighted: {
    fields: {
      services: {
        kind: 'objectList',
        nonEmpty: true,
        shape: {
          fields: { name: { kind: 'string' }, weight: { kind: 'integer', min: 0 } },
          required: ['name'],
        },
      },
    },
    required: ['services'],
  },
};

function readUdpService(
  value: Record<string, unknown>,
  at: Trail,
  subject: string,
  el: Element,
): UdpService | undefined {
  return readOneKind<UdpService>(value, at, subject, el, UDP_SERVICE_KINDS);
}
