// The record of one training run: loss and hyperparameters per iteration,
// seconds, whether it finished or was cancelled; displayable in notebooks.

import type { FitRunDisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type MimeBundle, renderBundle } from "../displayHooks";

/** What fit reports after each iteration (and what onProgress receives). */
export interface FitProgress {
  /** 0-based. */
  iteration: number;
  /** -MLL / n at the parameters before this iteration's step (GPyTorch's loss trace). */
  loss: number;
  /** Constrained values by dotted name, e.g. "covarModule.baseKernel.lengthscale". */
  hyperparameters: Record<string, number[]>;
  /** Seconds since the run started. */
  seconds: number;
  /** Minibatch training: the epoch this step belongs to (0-based). */
  epoch?: number;
}

/** The record of one `gp.train.fit`: loss and hyperparameters per iteration; displays as a loss chart. */
export class FitRun {
  /** One entry per iteration. */
  readonly history: FitProgress[] = [];
  /** Loss after the last step (one extra evaluation at the end). */
  finalLoss = Number.NaN;
  /** Whether the run has finished. */
  done = false;
  /** Whether it stopped early (interrupt, or a callback returned false). */
  cancelled = false;
  /** L-BFGS only: stopped early because no step could decrease the loss. */
  converged = false;

  constructor(
    /** The optimiser that ran. */
    readonly optimizer: "adam" | "lbfgs" | "ngd",
  ) {}

  /** The loss of every iteration. */
  get losses(): number[] {
    return this.history.map((h) => h.loss);
  }

  /** Seconds the run took (so far). */
  get seconds(): number {
    return this.history.length ? this.history[this.history.length - 1].seconds : 0;
  }

  /**
   * The record gp.display draws.
   * @internal
   */
  displayData(): FitRunDisplayData {
    const hyper: Record<string, number[]> = {};
    for (const h of this.history) {
      for (const [name, vals] of Object.entries(h.hyperparameters)) {
        vals.forEach((v, i) => {
          const key = vals.length > 1 ? `${name}[${i}]` : name;
          (hyper[key] ??= []).push(v);
        });
      }
    }
    return {
      kind: "fitRun",
      iterations: this.history.map((h) => h.iteration),
      losses: this.losses,
      hyperparameters: hyper,
      seconds: this.history.map((h) => h.seconds),
      done: this.done,
    };
  }

  /** One line: iterations, time, first and last loss. */
  toString(): string {
    const n = this.history.length;
    const state = this.cancelled ? "cancelled" : this.done ? "done" : "running";
    if (n === 0) return `FitRun (${this.optimizer}, ${state}, no iterations)`;
    return `FitRun (${this.optimizer}, ${state}): ${n} iterations in ${this.seconds.toFixed(2)} s, loss ${this.history[0].loss.toPrecision(5)} -> ${(Number.isFinite(this.finalLoss) ? this.finalLoss : this.history[n - 1].loss).toPrecision(5)}`;
  }

  /** The notebook display: loss curve and hyperparameter trajectories. */
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle> {
    return renderBundle("fitRun", this.displayData(), () => this.toString());
  }
}
