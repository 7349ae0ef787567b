// Structure-aware dispatch for +, scalar * and friends: Diag + Diag is Diag,
// K + Diag is AddedDiag, c * K is ConstantMul, sums flatten.

import { mat } from "../algorithms/matrix";
import { AddedDiagLinearOperator } from "./AddedDiagLinearOperator";
import { ConstantDiagLinearOperator } from "./ConstantDiagLinearOperator";
import { ConstantMulLinearOperator } from "./ConstantMulLinearOperator";
import { DenseLinearOperator } from "./DenseLinearOperator";
import { DiagLinearOperator } from "./DiagLinearOperator";
import { type LinearOperator, algebra } from "./LinearOperator";
import { LowRankRootLinearOperator } from "./LowRankRootLinearOperator";
import { SumLinearOperator } from "./SumLinearOperator";
import { TriangularLinearOperator } from "./TriangularLinearOperator";

function addDiagonals(a: DiagLinearOperator, b: DiagLinearOperator): DiagLinearOperator {
  if (a instanceof ConstantDiagLinearOperator && b instanceof ConstantDiagLinearOperator) {
    return new ConstantDiagLinearOperator(a.value + b.value, a.shape[0]);
  }
  return new DiagLinearOperator(Float64Array.from({ length: a.shape[0] }, (_, i) => a.valueAt(i) + b.valueAt(i)));
}

function add(a: LinearOperator, b: LinearOperator): LinearOperator {
  const aDiag = a instanceof DiagLinearOperator, bDiag = b instanceof DiagLinearOperator;
  if (aDiag && bDiag) return addDiagonals(a, b);
  if (bDiag) {
    if (a instanceof AddedDiagLinearOperator) return new AddedDiagLinearOperator(a.base, addDiagonals(a.diag, b));
    return new AddedDiagLinearOperator(a, b);
  }
  if (aDiag) return add(b, a);
  if (a instanceof AddedDiagLinearOperator) return add(add(a.base, b), a.diag);
  if (b instanceof AddedDiagLinearOperator) return add(add(a, b.base), b.diag);
  if (a instanceof DenseLinearOperator && b instanceof DenseLinearOperator && !(a instanceof TriangularLinearOperator) && !(b instanceof TriangularLinearOperator)) {
    const m = mat(a.shape[0], a.shape[1]);
    for (let i = 0; i < m.data.length; i++) m.data[i] = a.matrix.data[i] + b.matrix.data[i];
    return new DenseLinearOperator(m);
  }
  const parts = [a, b].flatMap((o) => (o instanceof SumLinearOperator ? [...o.operands] : [o]));
  return new SumLinearOperator(...parts);
}

function scale(a: LinearOperator, c: number): LinearOperator {
  if (a instanceof ConstantDiagLinearOperator) return new ConstantDiagLinearOperator(a.value * c, a.shape[0]);
  if (a instanceof DiagLinearOperator) return new DiagLinearOperator(a.values.map((v) => v * c));
  if (a instanceof ConstantMulLinearOperator) return new ConstantMulLinearOperator(a.base, a.constant * c);
  return new ConstantMulLinearOperator(a, c);
}

algebra.add = add;
algebra.scale = scale;
algebra.diag = (d) => new DiagLinearOperator(d);
algebra.constantDiag = (v, n) => new ConstantDiagLinearOperator(v, n);
algebra.lowRankRoot = (r) => new LowRankRootLinearOperator(r);
algebra.dense = (m) => new DenseLinearOperator(m);
