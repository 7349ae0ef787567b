export { pairwiseMatmul, pairwiseRows, pairwiseEntries, pairwiseBilinear, pairwiseColumnBlockSums, lastReport, onReport } from "./engine";
export type { ReductionOptions, ReductionReport, BilinearWeights } from "./engine";
export { gradientLayout, packParams, structureKey, validateFormula } from "./formula";
export type { Formula, Factor, Term, Profile, ProfileVars, Statistic, GradientLayout } from "./formula";
export * as profiles from "./profiles";
export { interruptFlag, requestInterrupt, clearInterrupt, interruptRequested } from "./interrupt";
export { sharedF64 } from "./fusedExecutor";
