// Structure trees as indented text: operators give a StructureNode tree,
// kernels and models give a name like "ScaleKernel(AdditiveKernel(RBF, Periodic))"
// which is parsed into the same shape.

import type { StructureNode } from "../operators/LinearOperator";
import { fmtInt } from "./format";

export interface TreeNode {
  label: string;
  children: TreeNode[];
}

/** Lines like "AddedDiag", "├─ Kernel[RBF]", "└─ ConstantDiag[0.1]". */
export function treeLines(node: TreeNode): string[] {
  const out: string[] = [node.label];
  const walk = (children: TreeNode[], prefix: string) => {
    children.forEach((c, k) => {
      const last = k === children.length - 1;
      out.push(`${prefix}${last ? "└─ " : "├─ "}${c.label}`);
      walk(c.children, prefix + (last ? "   " : "│  "));
    });
  };
  walk(node.children, "");
  return out;
}

/** An operator's structure with each node's shape: "Kernel[RBF]  1,000 x 1,000". */
export function operatorTree(node: StructureNode): TreeNode {
  return {
    label: `${node.label}  ${fmtInt(node.shape[0])} x ${fmtInt(node.shape[1])}`,
    children: node.children.map(operatorTree),
  };
}

/**
 * Parses "A(B, C(D))" into a tree. Brackets [..] and braces {..} inside a
 * label are kept as part of it; an unbalanced name comes back as one node.
 */
export function parseNameTree(name: string): TreeNode {
  let pos = 0;
  const parseNode = (): TreeNode => {
    let label = "";
    let depth = 0; // inside [..] or {..}
    while (pos < name.length) {
      const ch = name[pos];
      if (depth === 0 && (ch === "(" || ch === ")" || ch === ",")) break;
      if (ch === "[" || ch === "{") depth++;
      if (ch === "]" || ch === "}") depth--;
      label += ch;
      pos++;
    }
    const node: TreeNode = { label: label.trim(), children: [] };
    if (name[pos] === "(") {
      pos++;
      for (;;) {
        node.children.push(parseNode());
        if (name[pos] === ",") {
          pos++;
          continue;
        }
        if (name[pos] === ")") pos++;
        break;
      }
    }
    return node;
  };
  const tree = parseNode();
  return pos === name.length ? tree : { label: name, children: [] };
}
