// A dynamic file as Traefik's file provider reads it: a Go template rendered before YAML, with
// sprig's functions reading the controller's environment, and dot set to `false` as Traefik does.
import { type RenderResult, renderTemplate } from './go-template.js';
import { TemplateFailure } from './go-template-functions.js';

export type TemplateEnv = Readonly<Record<string, string | undefined>>;

/** Only text with an action is rendered: any other renders to itself in Go too. */
export function isTemplate(text: string): boolean {
  return text.includes('{{');
}

export function renderFileTemplate(text: string, env: TemplateEnv): RenderResult {
  const lookup = (name: string): string => (Object.hasOwn(env, name) ? (env[name] ?? '') : '');
  return renderTemplate(text, false, {
    env: (args) => {
      if (args.length !== 1)
        throw new TemplateFailure(`wrong number of args for env: want 1 got ${args.length}`, {});
      return lookup(String(args[0] ?? ''));
    },
    // os.ExpandEnv: `$VAR` and `${VAR}`.
    expandenv: (args) =>
      String(args[0] ?? '').replace(
        /\$(?:\{([^}]*)\}|([A-Za-z0-9_]+))/g,
        (_, braced?: string, bare?: string) => lookup(braced ?? bare ?? ''),
      ),
  });
}
