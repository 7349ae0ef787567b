// After an interrupt, code the cell started must not keep running in the
// background: every `await` in compiled cell code is wrapped so that, when
// it resumes, it throws InterruptedError if an interrupt arrived meanwhile.
import type * as tsfork from "@tslab/typescript-for-tslab";
import { loadTypeScriptFork } from "./typescript-fork";

const ts = loadTypeScriptFork();

/** The global function the rewritten awaits call. */
export const CHECKPOINT_NAME = "__gplabAfterAwait";

export function addAwaitCheckpoints(javascript: string): string {
  if (!javascript.includes("await")) return javascript;
  const source = ts.createSourceFile("cell.js", javascript, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const insertions: Array<{ at: number; text: string }> = [];
  const visit = (node: tsfork.Node): void => {
    if (ts.isAwaitExpression(node)) {
      insertions.push({ at: node.getStart(source), text: `${CHECKPOINT_NAME}(` }, { at: node.end, text: ")" });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  // Insert from the back so earlier offsets stay valid.
  insertions.sort((a, b) => b.at - a.at);
  let rewritten = javascript;
  for (const { at, text } of insertions) rewritten = rewritten.slice(0, at) + text + rewritten.slice(at);
  return rewritten;
}
