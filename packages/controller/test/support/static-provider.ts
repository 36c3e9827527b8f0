// A provider whose parts a test sets by hand: feeds the controller configuration the file provider cannot express yet.
import type { PartsListener, Provider, ProviderPart } from '../../src/provider/provider-part.js';

export class StaticProvider implements Provider {
  readonly name = 'static';
  private readonly listeners = new Set<PartsListener>();

  constructor(private parts: ProviderPart[]) {}

  async start(): Promise<void> {}
  async close(): Promise<void> {
    this.listeners.clear();
  }

  onChange(listener: PartsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  current(): ProviderPart[] {
    return this.parts;
  }

  set(parts: ProviderPart[]): void {
    this.parts = parts;
    for (const listener of this.listeners) listener(parts);
  }
}
