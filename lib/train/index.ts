export { fit } from "./fit";
export type { FitOptions, Objective } from "./fit";
export { FitRun } from "./FitRun";
export type { FitProgress } from "./FitRun";
export { Adam, LBFGS } from "./optimizers";
export type { AdamOptions, LBFGSOptions, LossGrad } from "./optimizers";
