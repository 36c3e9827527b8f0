// Finds keys written twice in one JSON object: JSON.parse keeps the last silently, strict ingesters refuse the line.

/** Keys that appear more than once in the same object of `text` (a JSON document), as `path.key`. */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      while (text[i] !== '}') {
        ws();
        const key = str();
        if (seen.has(key)) found.push(`${path}${key}`);
        seen.add(key);
        ws();
        i++; // ':'
        value(`${path}${key}.`);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++;
      ws();
      while (text[i] !== ']') {
        value(path);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') str();
    else while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
  };
  JSON.parse(text);
  value('');
  return found;
}
