// Errors that name the problem and the fix. Each has a distinct `name` so that
// a notebook traceback (and `instanceof` checks) tell them apart.

/** The base of gplab's errors; `name` is the subclass's name, so tracebacks and `instanceof` tell them apart. */
export class GPLabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (e.g. K is 100 x 100 but rhs has 99 rows). */
export class ShapeError extends GPLabError {}

/** NaN or Infinity where finite numbers are required. */
export class NonFiniteError extends GPLabError {}

/** A matrix that is not positive definite even after the jitter ladder. */
export class NotPSDError extends GPLabError {}

/** A dense request (toDense, Cholesky) whose bytes exceed the allowed budget. */
export class DenseTooLargeError extends GPLabError {
  constructor(
    message: string,
    /** Bytes the dense f64 matrix would take. */
    readonly bytesNeeded: number,
    /** The budget it exceeded. */
    readonly maxBytes: number,
  ) {
    super(message);
  }
}

/** A long reduction stopped between tiles because an interrupt was requested. */
export class InterruptedError extends GPLabError {}

/** Bad argument values (unknown backend name, negative sizes, ...). */
export class ArgumentError extends GPLabError {}

/** A prior evaluated outside its support where GPyTorch (torch validation) raises. */
export class PriorSupportError extends GPLabError {}

/** Targets outside a likelihood's support (e.g. class labels that are not 0..C-1). */
export class LabelError extends GPLabError {}
