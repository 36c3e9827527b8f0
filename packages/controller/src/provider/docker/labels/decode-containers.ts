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
export function sourceKeyOf(c: ContainerFacts, provider = 'docker'): string {
  return `${provider}/${c.name}`;
}

export const decodeContainers: ContainerDecoder = (containers, settings, options) => {
  const provider = options?.provider ?? 'docker';
  const noun = provider === 'swarm' ? 'service' : 'container';
  const parts: ProviderPart[] = [];
  const parsed = parseConstraints(settings.constraints);
  if (!parsed.ok) {
    parts.push({
      sourceKey: provider,
      provider,
      config: { http: { routers: {}, services: {} } },
      errors: [
        configError(
          DockerErrorCodes.CONSTRAINTS,
          `providers.${provider}.constraints`,
          `providers.${provider}.constraints ${JSON.stringify(settings.constraints)} does not parse: ${parsed.message}; no ${noun} is routed until it is fixed`,
        ),
      ],
    });
  }
  const ctx: DecodeContext = {
    settings,
    provider,
    constraints: parsed.ok ? parsed.match : undefined,
    all: containers,
  };
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
            `${noun} "${c.name}": its labels could not be decoded (${e instanceof Error ? e.message : String(e)}); it is not routed`,
            { provider, origin: c.name },
          ),
        ],
        sources: { routers: {}, services: {} },
      });
    }
  }
  mergeContainers(decoded, provider);
  for (const d of decoded) {
    parts.push({
      sourceKey: sourceKeyOf(d.container, provider),
      provider,
      config: d.config,
      errors: d.errors,
      sources: d.sources,
    });
  }
  return parts;
};
