// Services every node provides itself, as Traefik's internal provider does: routers name them `x@internal`.

/** The internal services Berth has, by bare name. */
export const INTERNAL_SERVICES = ['api', 'dashboard', 'noop', 'ping', 'prometheus'] as const;

export type InternalService = (typeof INTERNAL_SERVICES)[number];

/** `ping@internal` → `ping`; undefined for a name that is not `@internal` or not one Berth has. */
export function internalService(ref: string): InternalService | undefined {
  const at = ref.lastIndexOf('@');
  if (at < 0 || ref.slice(at + 1).toLowerCase() !== 'internal') return undefined;
  const bare = ref.slice(0, at);
  return (INTERNAL_SERVICES as readonly string[]).includes(bare) ? (bare as InternalService) : undefined;
}

/** Whether `ref` is qualified `@internal` (known to Berth or not). */
export function isInternalRef(ref: string): boolean {
  const at = ref.lastIndexOf('@');
  return at >= 0 && ref.slice(at + 1).toLowerCase() === 'internal';
}
