// Optimisers over a flat vector of raw parameter values. Both minimise;
// `loss` returns the value and fills the gradient.

/** Evaluates the loss at the current parameters and writes d loss / d raw into grad. */
export type LossAndGrad = () => Promise<{ loss: number; grad: Float64Array }>;

/** A loss and its gradient with respect to the raw parameters. */
export interface LossGrad {
  /** The loss. */
  loss: number;
  /** d loss / d raw parameters. shape: [number of raw values] */
  grad: Float64Array;
}

/** Options of Adam (torch.optim.Adam's defaults). */
export interface AdamOptions {
  /** Learning rate. */
  lr: number;
  /** Default [0.9, 0.999] (torch). */
  betas?: [number, number];
  /** Default 1e-8 (torch). */
  eps?: number;
}

/** Adam with bias correction, the update torch.optim.Adam makes. */
export class Adam {
  private m: Float64Array;
  private v: Float64Array;
  private t = 0;
  constructor(
    size: number,
    /** The settings. */
    readonly options: AdamOptions,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** x <- x - lr * mhat / (sqrt(vhat) + eps). */
  step(x: Float64Array, grad: Float64Array): void {
    const [b1, b2] = this.options.betas ?? [0.9, 0.999];
    const eps = this.options.eps ?? 1e-8;
    this.t++;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    // Locals, so the loop reads no properties (66,000 values a step for an SVGP at M = 256).
    const m = this.m, v = this.v, lr = this.options.lr, n = x.length;
    for (let i = 0; i < n; i++) {
      const g = grad[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      x[i] -= (lr / bc1) * m[i] / (Math.sqrt(v[i] / bc2) + eps);
    }
  }
}

/** Options of LBFGS. */
export interface LBFGSOptions {
  /** Initial step length (default 1). */
  lr?: number;
  /** Curvature pairs kept (default 10). */
  history?: number;
}

/**
 * L-BFGS with a backtracking (Armijo) line search on the two-loop direction.
 * One `step` is one iteration; it may evaluate the loss several times.
 */
export class LBFGS {
  private s: Float64Array[] = [];
  private y: Float64Array[] = [];
  constructor(
    /** The settings. */
    readonly options: LBFGSOptions = {},
  ) {}

  /**
   * Moves x (in place) and returns the loss and gradient at the new x, or
   * null when no step decreases the loss (converged to rounding; x unchanged).
   */
  async step(x: Float64Array, loss: number, grad: Float64Array, evaluate: (x: Float64Array) => Promise<LossGrad>): Promise<LossGrad | null> {
    if (grad.every((g) => Math.abs(g) < 1e-12)) return null;
    const d = this.direction(grad);
    let slope = dot(d, grad);
    if (!(slope < 0)) {
      // Not a descent direction: restart from steepest descent.
      this.s = [];
      this.y = [];
      d.set(grad.map((g) => -g));
      slope = -dot(grad, grad);
    }
    let step = this.s.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(grad, grad))) * (this.options.lr ?? 1) : this.options.lr ?? 1;
    const x0 = x.slice();
    for (let tries = 0; tries < 20; tries++) {
      for (let i = 0; i < x.length; i++) x[i] = x0[i] + step * d[i];
      const r = await evaluate(x);
      if (Number.isFinite(r.loss) && r.loss <= loss + 1e-4 * step * slope) {
        const s = x.map((v, i) => v - x0[i]);
        const yv = r.grad.map((g, i) => g - grad[i]);
        if (dot(s, yv) > 1e-12) {
          this.s.push(s);
          this.y.push(yv);
          if (this.s.length > (this.options.history ?? 10)) {
            this.s.shift();
            this.y.shift();
          }
        }
        return r;
      }
      step *= 0.5;
    }
    x.set(x0);
    return null;
  }

  /** -H grad by the two-loop recursion. */
  private direction(grad: Float64Array): Float64Array {
    const q = grad.slice();
    const k = this.s.length;
    const a = new Float64Array(k);
    for (let i = k - 1; i >= 0; i--) {
      a[i] = dot(this.s[i], q) / dot(this.y[i], this.s[i]);
      for (let j = 0; j < q.length; j++) q[j] -= a[i] * this.y[i][j];
    }
    if (k > 0) {
      const gamma = dot(this.s[k - 1], this.y[k - 1]) / dot(this.y[k - 1], this.y[k - 1]);
      for (let j = 0; j < q.length; j++) q[j] *= gamma;
    }
    for (let i = 0; i < k; i++) {
      const b = dot(this.y[i], q) / dot(this.y[i], this.s[i]);
      for (let j = 0; j < q.length; j++) q[j] += this.s[i][j] * (a[i] - b);
    }
    return q.map((v) => -v);
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
