export { Module, camelPath, Parameter, ModuleList, flatten } from "../module";
export type { StateDict, NestedNumbers } from "../module";
export { ExactGP } from "./ExactGP";
export type { ExactGPOptions, PredictOptions, TrainingSystem } from "./ExactGP";
export { Prediction } from "./Prediction";
