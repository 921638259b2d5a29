/**
 * Keys given twice in one JSON object. JSON.parse keeps the last silently (as Go's encoding/json);
 * kube-apiserver reports each as a "duplicate field" (a warning by default, an error with
 * ?fieldValidation=Strict), so the decoders do too. One pass over text JSON.parse has accepted.
 */
import { fieldPath, indexPath } from './field-reader.js';

interface Frame {
  /** Keys seen in this object; undefined for an array. */
  keys?: Set<string>;
  path: string;
  /** The key whose value comes next (objects) or the index of the next item (arrays). */
  key?: string;
  index: number;
  /** An object awaiting a key (after "{" or ","). */
  expectKey: boolean;
}

/** The field paths ("spec.replicas", "items[0].metadata.name") of duplicated keys, in text order. */
export function duplicateJsonKeys(text: string): string[] {
  const out: string[] = [];
  const stack: Frame[] = [];
  const valuePath = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    return top.keys ? fieldPath(top.path, top.key ?? '') : indexPath(top.path, top.index);
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // The closing quote: the next one not escaped (preceded by an even number of backslashes).
      let end = text.indexOf('"', i + 1);
      for (;;) {
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === 0x5c /* \ */) slashes++;
        if (slashes % 2 === 0 || end < 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end < 0) break;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) out.push(fieldPath(top.path, key));
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), path: valuePath(), index: 0, expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ path: valuePath(), index: 0, expectKey: false });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return out;
}
