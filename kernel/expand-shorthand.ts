// tslab's converter rewrites a reference to an earlier cell's variable `v` as
// `exports.v`, but misses shorthand properties: `{ v }` stays `{ v }` and
// fails at run time ("v is not defined"). Spelling them out (`{ v: v }`)
// before conversion means the same thing and takes the rewritten path.

import type { TypeScript } from "./typescript-fork";

/** The cell with every shorthand property `{ a }` written as `{ a: a }`. */
export function expandShorthandProperties(ts: TypeScript, code: string): string {
  const file = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, true);
  const edits: { at: number; name: string }[] = [];
  const visit = (node: import("@tslab/typescript-for-tslab").Node): void => {
    if (ts.isShorthandPropertyAssignment(node)) edits.push({ at: node.name.getEnd(), name: node.name.text });
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = code;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = `${out.slice(0, e.at)}: ${e.name}${out.slice(e.at)}`;
  return out;
}
