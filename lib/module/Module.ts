// The parameter tree of GPyTorch-style models: modules own named raw
// parameters and child modules; dotted camelCase paths address them
// ("covarModule.baseKernel.rawLengthscale"), and GPyTorch's snake_case
// state_dict keys are accepted wherever a path is.

import { ArgumentError } from "../errors";
import type { HyperparameterRow } from "../displayData";
import type { Prior } from "../priors/Prior";
import { type NestedNumbers, Parameter, flatten } from "./Parameter";

/**
 * "covar_module.base_kernel.raw_lengthscale" -> "covarModule.baseKernel.rawLengthscale";
 * GPyTorch's private attributes lose their leading underscore
 * ("_variational_distribution" -> "variationalDistribution").
 */
export function camelPath(path: string): string {
  return path.replace(/(^|\.)_+/g, "$1").replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** GPyTorch buffers in a state_dict that carry no parameter (constraint bounds, prior parameters, variational flags). */
const IGNORED_STATE_KEYS = /(Constraint|Prior)\.|(^|\.)(variationalParamsInitialized|updatedStrategy)$/;

function rawName(name: string): string {
  return `raw${name[0].toUpperCase()}${name.slice(1)}`;
}

/** Raw parameter values keyed by dotted camelCase path, as `stateDict()` returns them (GPyTorch's state_dict). */
export type StateDict = Record<string, NestedNumbers>;

/**
 * The base of kernels, means, likelihoods, models and variational parts (GPyTorch's Module): named raw
 * parameters and child modules addressed by dotted camelCase paths ("covarModule.baseKernel.rawLengthscale");
 * GPyTorch's snake_case state_dict keys are accepted wherever a path is.
 */
export class Module {
  private readonly params = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();
  /** Attribute name -> dotted path it stands for (GaussianLikelihood.noise -> noiseCovar.noise). */
  private readonly aliases = new Map<string, string>();
  /** Priors on this module's parameters, by GPyTorch's name ("lengthscalePrior"). */
  private readonly priors = new Map<string, { prior: Prior; param: Parameter }>();
  /**
   * Leading batch dimensions of this module's parameters (GPyTorch's
   * batch_shape, e.g. [3] for one kernel per latent function); [] for none.
   * Set it before registering parameters: each registered parameter of shape
   * s becomes [...batchShape, ...s], and batchMember(q) views slice q.
   */
  batchShape: readonly number[] = [];

  /** Makes this module a batch of `batchShape[0]` modules (call before registering parameters). */
  protected setBatchShape(batchShape: readonly number[] | undefined): void {
    if (!batchShape || batchShape.length === 0) return;
    if (batchShape.length !== 1 || !Number.isInteger(batchShape[0]) || batchShape[0] < 1) {
      throw new ArgumentError(`batchShape must be [b] with b a positive integer (one batch dimension), got [${batchShape}]`);
    }
    if (this.params.size) throw new ArgumentError("setBatchShape must come before parameters are registered");
    this.batchShape = [...batchShape];
  }

  /** Registers a raw parameter; by convention its name starts with "raw" when constrained. */
  protected registerParameter(name: string, p: Parameter): Parameter {
    const stored = this.batchShape.length ? p.batched(this.batchShape) : p;
    this.params.set(name, stored);
    return stored;
  }

  /** Adds a child module under `name` (its parameters get the prefix "name."); returns it. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /**
   * Attaches a prior to a registered parameter, like GPyTorch's register_prior:
   * the MLLs add log p(constrained value). `undefined` attaches nothing.
   */
  protected registerPrior(name: string, prior: Prior | undefined, param: Parameter): void {
    if (!prior) return;
    if (![...this.params.values()].includes(param)) throw new ArgumentError(`registerPrior("${name}"): register the parameter before its prior`);
    if (typeof (prior as Partial<Prior>).logProbSum !== "function") {
      throw new ArgumentError(`${this.constructor.name}: ${name} must be a gp.priors prior (e.g. new gp.priors.GammaPrior(3, 6)), got ${String(prior)}`);
    }
    this.priors.set(name, { prior, param });
  }

  /** Every attached prior with its dotted name and parameter, depth first (GPyTorch's named_priors()). */
  namedPriors(prefix = ""): [string, Prior, Parameter][] {
    const out: [string, Prior, Parameter][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [n, e] of m.priors) out.push([path ? `${path}.${n}` : n, e.prior, e.param]);
    }
    return out;
  }

  /** Lets `initialize` and `resolveParameter` accept `name` for the parameter at the dotted `path` of a child. */
  protected registerAlias(name: string, path: string): void {
    this.aliases.set(name, path);
  }

  /**
   * Registered children, then modules assigned to properties (a subclass's
   * `this.covarModule = ...`), like GPyTorch's attribute registration.
   */
  private childEntries(): [string, Module][] {
    const out = [...this.children];
    const known = new Set(this.children.values());
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module && !known.has(v) && v !== this) {
        known.add(v);
        out.push([k, v]);
      }
    }
    return out;
  }

  /** Every parameter with its dotted raw path, depth first, like GPyTorch's named_parameters(). */
  namedParameters(prefix = ""): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const visit = (m: Module, pre: string) => {
      for (const [n, p] of m.params) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([pre + n, p]);
      }
      for (const [n, c] of m.childEntries()) visit(c, `${pre}${n}.`);
    };
    visit(this, prefix);
    return out;
  }

  /** Every parameter of this module and its descendants, each once (GPyTorch's parameters()). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** This module and every descendant with its dotted path ("" for this one), depth first (GPyTorch's named_modules()). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ""), this]];
    for (const [n, c] of this.childEntries()) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** Whether this module or a descendant has a batch shape. */
  isBatched(): boolean {
    return this.batchShape.length > 0 || this.childEntries().some(([, c]) => c.isBatched());
  }

  /**
   * Member q of a batched module: the same module with every batched
   * parameter replaced by a view of its slice q (shared raw values and
   * grads), batched children replaced by their members. Unbatched modules
   * return themselves, shared by all members.
   */
  batchMember(q: number): this {
    if (!this.isBatched()) return this;
    const b = this.batchShape[0];
    if (this.batchShape.length && (!Number.isInteger(q) || q < 0 || q >= b)) throw new ArgumentError(`batch member ${q} is out of range [0, ${b})`);
    const views = new Map<Parameter, Parameter>();
    for (const p of this.params.values()) views.set(p, this.batchShape.length ? p.member(q) : p);
    const kids = new Map<Module, Module>();
    for (const [, c] of this.childEntries()) kids.set(c, c.batchMember(q));
    const clone = Object.create(Object.getPrototypeOf(this)) as this;
    const memberOf = (v: unknown): unknown => {
      if (v instanceof Parameter) return views.get(v) ?? v;
      if (v instanceof Module) return kids.get(v) ?? v.batchMember(q);
      // Arrays of modules (e.g. AdditiveKernel.kernels) hold members too.
      if (Array.isArray(v) && v.some((e) => e instanceof Module)) return v.map(memberOf);
      return v;
    };
    for (const [k, v] of Object.entries(this)) (clone as Record<string, unknown>)[k] = memberOf(v);
    const c = clone as unknown as { params: Map<string, Parameter>; children: Map<string, Module>; batchShape: readonly number[] };
    c.params = new Map([...this.params].map(([n, p]) => [n, views.get(p) as Parameter]));
    c.children = new Map([...this.children].map(([n, m]) => [n, kids.get(m) as Module]));
    c.batchShape = [];
    return clone;
  }

  /** Sets every parameter's gradient to zero (GPyTorch: optimizer.zero_grad()). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** The child module at a dotted path ("" for this one). */
  module(path: string): Module {
    if (path === "") return this;
    let m: Module = this;
    for (const part of camelPath(path).split(".")) {
      const entries = m.childEntries();
      const next = entries.find(([n]) => n === part)?.[1];
      if (!next) throw new ArgumentError(`no module "${part}" in ${m.constructor.name} (has: ${entries.map(([n]) => n).join(", ") || "none"})`);
      m = next;
    }
    return m;
  }

  /**
   * Resolves "a.b.lengthscale" / "a.b.rawLengthscale" to a parameter and whether the path named the raw value.
   * @internal
   */
  resolveParameter(path: string): { param: Parameter; raw: boolean } {
    const camel = camelPath(path);
    const dot = camel.lastIndexOf(".");
    const owner = this.module(dot < 0 ? "" : camel.slice(0, dot));
    const attr = dot < 0 ? camel : camel.slice(dot + 1);
    const alias = owner.aliases.get(attr);
    if (alias) return owner.resolveParameter(alias);
    const direct = owner.params.get(attr);
    if (direct) return { param: direct, raw: direct.constraint !== null || attr.startsWith("raw") };
    const constrained = owner.params.get(rawName(attr));
    if (constrained) return { param: constrained, raw: false };
    const names = [...owner.params.keys()].flatMap((n) => (n.startsWith("raw") ? [n, n[3].toLowerCase() + n.slice(4)] : [n]));
    throw new ArgumentError(`${owner.constructor.name} has no parameter "${attr}" (path "${path}"); it has: ${[...names, ...owner.aliases.keys()].join(", ") || "none"}`);
  }

  /**
   * Sets constrained values (or raw ones for "raw..." names) by dotted path,
   * like GPyTorch's initialize. Returns this, for chaining.
   */
  initialize(values: Record<string, number | NestedNumbers | ArrayLike<number>>): this {
    for (const [path, v] of Object.entries(values)) {
      const { param, raw } = this.resolveParameter(path);
      const val = typeof v === "number" ? v : flatten(v as NestedNumbers);
      if (raw) param.setRaw(val);
      else param.setValue(val);
    }
    return this;
  }

  /** Raw values keyed by GPyTorch's state_dict names, camelCased. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [n, p] of this.namedParameters()) out[n] = p.rawNested();
    return out;
  }

  /**
   * Loads raw values. Keys may be camelCase or GPyTorch snake_case; GPyTorch's
   * constraint and prior buffers ("..._constraint.lower_bound",
   * "..._prior.concentration") are ignored (a prior's parameters come from its constructor). With
   * `strict` (default) every parameter must be present and no key unknown.
   */
  loadStateDict(dict: Record<string, unknown>, options: { strict?: boolean } = {}): this {
    const strict = options.strict ?? true;
    const own = new Map(this.namedParameters());
    const loaded = new Set<string>();
    for (const [key, v] of Object.entries(dict)) {
      const camel = camelPath(key);
      if (IGNORED_STATE_KEYS.test(camel)) continue;
      const p = own.get(camel);
      if (!p) {
        if (strict) throw new ArgumentError(`loadStateDict: unknown key "${key}"; this model has: ${[...own.keys()].join(", ")}`);
        continue;
      }
      p.setRaw(flatten(v as NestedNumbers));
      loaded.add(camel);
    }
    if (strict) {
      const missing = [...own.keys()].filter((k) => !loaded.has(k));
      if (missing.length) throw new ArgumentError(`loadStateDict: missing keys ${missing.join(", ")} (pass { strict: false } to allow)`);
    }
    return this;
  }

  /**
   * Constrained values for display: one row per parameter, "raw" dropped from the name.
   * @internal
   */
  hyperparameterRows(prefix = ""): HyperparameterRow[] {
    const priorOf = new Map<Parameter, string[]>();
    for (const [, prior, param] of this.namedPriors()) {
      const names = priorOf.get(param) ?? [];
      if (!names.includes(prior.toString())) priorOf.set(param, [...names, prior.toString()]);
    }
    return this.namedParameters(prefix).map(([n, p]) => {
      const row: HyperparameterRow = {
        name: n.replace(/(^|\.)raw([A-Z])/, (_, dot: string, c: string) => dot + c.toLowerCase()),
        value: Array.from(p.value()),
        shape: [...p.shape],
        constraint: p.constraint ? p.constraint.toString() : "none",
      };
      const priors = priorOf.get(p);
      if (priors) row.prior = priors.join(" + ");
      return row;
    });
  }
}
