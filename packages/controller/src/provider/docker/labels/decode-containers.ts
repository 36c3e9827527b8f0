// The pure half of the Docker provider: every container's labels → one part per routed container.
import { configError } from '@berth/config';
import type { ProviderPart } from '../../provider-part.js';
import type { ContainerDecoder, ContainerFacts } from '../container-facts.js';
import { parseConstraints } from './constraints.js';
import { type DecodeContext, type DecodedContainer, decodeContainer } from './decode-container.js';
import { DockerErrorCodes } from './error-codes.js';
import { byCodeUnit } from './label-tree.js';
import { mergeContainers } from './merge-containers.js';

/** Parts are keyed by container, so the compiler's report can say where each element came from. */
export function sourceKeyOf(c: ContainerFacts): string {
  return `docker/${c.name}`;
}

export const decodeContainers: ContainerDecoder = (containers, settings) => {
  const parts: ProviderPart[] = [];
  const parsed = parseConstraints(settings.constraints);
  if (!parsed.ok) {
    parts.push({
      sourceKey: 'docker',
      provider: 'docker',
      config: { http: { routers: {}, services: {} } },
      errors: [
        configError(
          DockerErrorCodes.CONSTRAINTS,
          'providers.docker.constraints',
          `providers.docker.constraints ${JSON.stringify(settings.constraints)} does not parse: ${parsed.message}; no container is routed until it is fixed`,
        ),
      ],
    });
  }
  const ctx: DecodeContext = { settings, constraints: parsed.ok ? parsed.match : undefined, all: containers };
  // Traefik merges containers in name order; the first definition is the one reported.
  const ordered = [...containers].sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.id, b.id));
  const decoded: DecodedContainer[] = [];
  for (const c of ordered) {
    try {
      const one = decodeContainer(c, ctx);
      if (one !== null) decoded.push(one);
    } catch (e) {
      // Never throws past here: a decoder bug costs this container only, and says so.
      decoded.push({
        container: c,
        config: { http: { routers: {}, services: {} } },
        errors: [
          configError(
            DockerErrorCodes.INTERNAL,
            'labels',
            `container "${c.name}": its labels could not be decoded (${e instanceof Error ? e.message : String(e)}); it is not routed`,
            { provider: 'docker', origin: c.name },
          ),
        ],
        sources: { routers: {}, services: {} },
      });
    }
  }
  mergeContainers(decoded);
  for (const d of decoded) {
    parts.push({
      sourceKey: sourceKeyOf(d.container),
      provider: 'docker',
      config: d.config,
      errors: d.errors,
      sources: d.sources,
    });
  }
  return parts;
};
