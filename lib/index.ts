// gplab: Gaussian processes with lazy, tiled covariance operators.
// Import order matters only for backend: it picks and initialises tfjs first.
export * as backend from "./backend";
// Types of the chained tensor methods (t.add(1), ...) for every program that
// imports gplab; their runtime registration is in backend (dist/vendor).
export type {} from "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";
export * as reductions from "./reductions";
export * as operators from "./operators";
export * as algorithms from "./algorithms";
export * as errors from "./errors";
export * as display from "./display";
export { setSeed, RandomSource } from "./random";
export type { TensorLike } from "./tensorLike";
export { setLiveDisplay, getLiveDisplay, JUPYTER_DISPLAY } from "./displayHooks";
export type { LiveDisplay, LiveHandle } from "./displayHooks";
export type { MimeBundle } from "./displayHooks";
export * as kernels from "./kernels";
export * as constraints from "./constraints";
export * as models from "./models";
export * as means from "./means";
export * as likelihoods from "./likelihoods";
export * as distributions from "./distributions";
export * as mlls from "./mlls";
export * as priors from "./priors";
export * as variational from "./variational";
export * as train from "./train";
