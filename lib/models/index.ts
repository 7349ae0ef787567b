export { Module, camelPath, Parameter, ModuleList, flatten } from "../module";
export type { StateDict, NestedNumbers } from "../module";
export { ExactGP } from "./ExactGP";
export type { ExactGPOptions, PredictOptions, TrainingSystem } from "./ExactGP";
export { Prediction } from "./Prediction";
export { ApproximateGP } from "./ApproximateGP";
export type { ApproximateGPOptions, ApproximatePredictOptions, VariationalStrategyChoice } from "./ApproximateGP";
export { MultitaskPrediction } from "./MultitaskPrediction";
