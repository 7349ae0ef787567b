import "./algebra";

export { LinearOperator } from "./LinearOperator";
export type { StructureNode, DenseOptions, SolveReport, InvQuadLogdet } from "./LinearOperator";
export type { IterativeReport } from "../algorithms/iterative";
export { DenseLinearOperator } from "./DenseLinearOperator";
export { DiagLinearOperator } from "./DiagLinearOperator";
export { ConstantDiagLinearOperator } from "./ConstantDiagLinearOperator";
export { IdentityLinearOperator } from "./IdentityLinearOperator";
export { AddedDiagLinearOperator } from "./AddedDiagLinearOperator";
export { SumLinearOperator } from "./SumLinearOperator";
export { ConstantMulLinearOperator } from "./ConstantMulLinearOperator";
export { LowRankRootLinearOperator } from "./LowRankRootLinearOperator";
export { TriangularLinearOperator } from "./TriangularLinearOperator";
export { KroneckerProductLinearOperator } from "./KroneckerProductLinearOperator";
export { BlockDiagLinearOperator } from "./BlockDiagLinearOperator";
export { KernelLinearOperator } from "./KernelLinearOperator";
export type { KernelOperatorOptions } from "./KernelLinearOperator";
