export { Prior, ElementwisePrior, logGamma } from "./Prior";
export type { PriorInput, PriorLogProbSum } from "./Prior";
export { GammaPrior, NormalPrior, LogNormalPrior, UniformPrior, HalfCauchyPrior, SmoothedBoxPrior } from "./distributions";
export { priorLogProb } from "./priorTerms";
