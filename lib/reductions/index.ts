export { lastReport, onReport } from "./engine";
export type { ReductionOptions, ReductionReport } from "./engine";
export type { Formula, Factor, Term, Profile, ProfileVars, Statistic, GradientLayout, ScaledSource } from "./formula";
export * as profiles from "./profiles";
export { interruptFlag, requestInterrupt, clearInterrupt, interruptRequested } from "./interrupt";
