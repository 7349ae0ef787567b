export { Mean } from "./Mean";
export { ZeroMean } from "./ZeroMean";
export { ConstantMean } from "./ConstantMean";
export type { ConstantMeanOptions } from "./ConstantMean";
export { LinearMean } from "./LinearMean";
export type { LinearMeanOptions } from "./LinearMean";
