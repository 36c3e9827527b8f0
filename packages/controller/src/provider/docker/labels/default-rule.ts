// The provider's default rule, a Go text/template: the common forms only (`{{ normalize .Name }}`,
// `.ContainerName`, `index .Labels "k"`, pipelines, a few sprig string functions).

export interface RuleModel {
  /** The default service name (`<compose service>-<project>`, normalised). */
  Name: string;
  ContainerName: string;
  Labels: Readonly<Record<string, string>>;
}

type Value = string | Readonly<Record<string, string>>;

export type Rendered = { ok: true; rule: string } | { ok: false; message: string };

/** Traefik's `normalize`: every run of characters that are not letters or digits becomes one `-`, trimmed. */
export function normalize(name: string): string {
  return name
    .split(/[^\p{L}\p{N}]+/u)
    .filter((p) => p !== '')
    .join('-');
}

class TemplateError extends Error {}

const FUNCS: Readonly<Record<string, (args: Value[]) => Value>> = {
  normalize: (a) => normalize(str(one(a, 'normalize'))),
  lower: (a) => str(one(a, 'lower')).toLowerCase(),
  upper: (a) => str(one(a, 'upper')).toUpperCase(),
  trim: (a) => str(one(a, 'trim')).trim(),
  trimPrefix: (a) => {
    const [p, s] = two(a, 'trimPrefix');
    return s.startsWith(p) ? s.slice(p.length) : s;
  },
  trimSuffix: (a) => {
    const [p, s] = two(a, 'trimSuffix');
    return s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  },
  replace: (a) => {
    if (a.length !== 3) throw new TemplateError('replace takes 3 arguments');
    return str(a[2] as Value)
      .split(str(a[0] as Value))
      .join(str(a[1] as Value));
  },
  default: (a) => {
    const [d, v] = two(a, 'default');
    return v === '' ? d : v;
  },
  index: (a) => {
    if (a.length !== 2) throw new TemplateError('index takes 2 arguments');
    const [map, key] = a as [Value, Value];
    if (typeof map === 'string')
      throw new TemplateError('index: the first argument must be a map such as .Labels');
    return Object.hasOwn(map, str(key)) ? (map[str(key)] ?? '') : '';
  },
};

function one(a: Value[], fn: string): Value {
  if (a.length !== 1) throw new TemplateError(`${fn} takes 1 argument, got ${a.length}`);
  return a[0] as Value;
}

function two(a: Value[], fn: string): [string, string] {
  if (a.length !== 2) throw new TemplateError(`${fn} takes 2 arguments, got ${a.length}`);
  return [str(a[0] as Value), str(a[1] as Value)];
}

function str(v: Value): string {
  if (typeof v !== 'string') throw new TemplateError('a map is used where a string is expected');
  return v;
}

export function renderDefaultRule(template: string, model: RuleModel): Rendered {
  try {
    let out = '';
    let i = 0;
    while (i < template.length) {
      const open = template.indexOf('{{', i);
      if (open < 0) {
        out += template.slice(i);
        break;
      }
      let text = template.slice(i, open);
      const close = template.indexOf('}}', open + 2);
      if (close < 0) throw new TemplateError('unclosed action {{');
      let action = template.slice(open + 2, close);
      if (action.startsWith('-')) {
        text = text.trimEnd();
        action = action.slice(1);
      }
      let trimAfter = false;
      if (action.endsWith('-')) {
        trimAfter = true;
        action = action.slice(0, -1);
      }
      out += text + str(evalPipeline(tokenize(action), model));
      i = close + 2;
      if (trimAfter) while (i < template.length && /\s/.test(template[i] as string)) i++;
    }
    return { ok: true, rule: out };
  } catch (e) {
    if (e instanceof TemplateError) return { ok: false, message: e.message };
    throw e;
  }
}

type Tok = string;

function tokenize(action: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < action.length) {
    const c = action[i] as string;
    if (/\s/.test(c)) i++;
    else if ('()|'.includes(c)) {
      toks.push(c);
      i++;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let s = '';
      while (j < action.length && action[j] !== c) {
        if (c === '"' && action[j] === '\\' && j + 1 < action.length) {
          const e = action[j + 1] as string;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += action[j++];
      }
      if (j >= action.length) throw new TemplateError('unterminated string');
      toks.push(`"${s}`);
      i = j + 1;
    } else {
      const m = /^[^\s()|"`]+/.exec(action.slice(i)) as RegExpExecArray;
      toks.push(m[0]);
      i += m[0].length;
    }
  }
  return toks;
}

function evalPipeline(toks: Tok[], model: RuleModel): Value {
  const cmds: Tok[][] = [[]];
  let depth = 0;
  for (const t of toks) {
    if (t === '(') depth++;
    if (t === ')') depth--;
    if (depth < 0) throw new TemplateError("unexpected ')'");
    if (t === '|' && depth === 0) cmds.push([]);
    else (cmds[cmds.length - 1] as Tok[]).push(t);
  }
  if (depth !== 0) throw new TemplateError("unclosed '('");
  let previous: Value | undefined;
  for (const cmd of cmds) {
    if (cmd.length === 0) throw new TemplateError('empty command');
    previous = evalCommand(cmd, model, previous);
  }
  return previous as Value;
}

function evalCommand(cmd: Tok[], model: RuleModel, piped: Value | undefined): Value {
  const operands: Value[] = [];
  const head = cmd[0] as string;
  let i = 0;
  const fn = FUNCS[head] !== undefined && Object.hasOwn(FUNCS, head) ? FUNCS[head] : undefined;
  if (fn !== undefined) i = 1;
  else if (/^[A-Za-z]/.test(head)) throw new TemplateError(`function "${head}" is not supported`);
  while (i < cmd.length) {
    const t = cmd[i] as string;
    if (t === '(') {
      let depth = 0;
      let j = i;
      for (; j < cmd.length; j++) {
        if (cmd[j] === '(') depth++;
        if (cmd[j] === ')' && --depth === 0) break;
      }
      operands.push(evalPipeline(cmd.slice(i + 1, j), model));
      i = j + 1;
    } else {
      operands.push(operand(t, model));
      i++;
    }
  }
  if (piped !== undefined) operands.push(piped);
  if (fn !== undefined) return fn(operands);
  if (operands.length !== 1) throw new TemplateError(`"${cmd.join(' ')}" is not a function call`);
  return operands[0] as Value;
}

function operand(t: Tok, model: RuleModel): Value {
  if (t.startsWith('"')) return t.slice(1);
  if (t === '.Name') return model.Name;
  if (t === '.ContainerName') return model.ContainerName;
  if (t === '.Labels') return model.Labels;
  if (t.startsWith('.Labels.')) return model.Labels[t.slice('.Labels.'.length)] ?? '';
  throw new TemplateError(`${t} is not supported (use .Name, .ContainerName or .Labels)`);
}
