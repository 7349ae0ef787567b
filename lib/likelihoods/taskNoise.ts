// The per-task noise variances a variational objective or prediction adds to
// each (point, task) marginal, and the way back to the likelihood's
// parameters: one noise for a GaussianLikelihood, diag(Sigma) for a
// MultitaskGaussianLikelihood.

import { ArgumentError } from "../errors";
import type { Module } from "../module/Module";
import { FixedNoiseGaussianLikelihood } from "./FixedNoiseGaussianLikelihood";
import { GaussianLikelihood } from "./GaussianLikelihood";
import { MultitaskGaussianLikelihood } from "./MultitaskGaussianLikelihood";
import { VariationalLikelihood } from "./VariationalLikelihood";

export interface TaskNoise {
  /** shape: [T] */
  values: Float64Array;
  /** Adds d/draw of sum_t dNoise[t] noise_t. shape: [T] */
  backward(dNoise: Float64Array): void;
}

export function taskNoise(likelihood: Module, numTasks: number): TaskNoise {
  if (likelihood instanceof MultitaskGaussianLikelihood) {
    if (likelihood.numTasks !== numTasks) {
      throw new ArgumentError(`the likelihood has numTasks = ${likelihood.numTasks} but the model has ${numTasks} tasks`);
    }
    return { values: likelihood.taskNoiseDiagonalF64(), backward: (d) => likelihood.backwardTaskNoiseDiagonal(d) };
  }
  if (likelihood instanceof GaussianLikelihood) {
    if (numTasks !== 1) throw new ArgumentError(`a GaussianLikelihood models one output but the model has ${numTasks} tasks; use new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: ${numTasks} })`);
    return { values: Float64Array.of(likelihood.noise), backward: (d) => likelihood.backwardNoise(d) };
  }
  if (likelihood instanceof FixedNoiseGaussianLikelihood) {
    throw new ArgumentError("variational GPs take a GaussianLikelihood or MultitaskGaussianLikelihood; FixedNoiseGaussianLikelihood's per-point noise is not supported with minibatches");
  }
  if (likelihood instanceof VariationalLikelihood) {
    throw new ArgumentError(`${likelihood.constructor.name} is not Gaussian, so it adds no noise variance: predict f with model.predict(x) and pass it to likelihood.marginal(f) for the distribution of y`);
  }
  throw new ArgumentError(`unsupported likelihood ${likelihood?.constructor?.name}: pass a GaussianLikelihood or MultitaskGaussianLikelihood`);
}
