export { GaussianLikelihoodBase } from "./Likelihood";
export { GaussianLikelihood, HomoskedasticNoise } from "./GaussianLikelihood";
export type { GaussianLikelihoodOptions } from "./GaussianLikelihood";
export { FixedNoiseGaussianLikelihood } from "./FixedNoiseGaussianLikelihood";
export type { FixedNoiseOptions } from "./FixedNoiseGaussianLikelihood";
export { MultitaskGaussianLikelihood } from "./MultitaskGaussianLikelihood";
export type { MultitaskGaussianLikelihoodOptions } from "./MultitaskGaussianLikelihood";
export { taskNoise } from "./taskNoise";
export type { TaskNoise } from "./taskNoise";
