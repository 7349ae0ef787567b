// Profiles are written once, as JavaScript expressions (profiles.ts and
// user formulas). This file reads that small language — numbers, names,
// + - * /, unary minus, comparisons, `?:`, Math.exp / log / sqrt / pow /
// sin / cos / abs / min / max and Math constants, and a prelude of
// `const name = expr, other = expr;` statements — into an expression tree, and emits the
// tree as f64x2 WebAssembly. Anything outside the language makes
// `parseProfile` return null, and the reduction falls back to generated
// JavaScript (the report says which code ran).

import type { Profile } from "../formula";
import { type Code, Simd } from "./binary";
import { emitExp, emitExp2, emitLog, emitLog2, emitSinCos, isExactExpScale } from "./vectorMath";

export type Expr =
  | { op: "num"; value: number }
  | { op: "var"; name: string }
  | { op: "neg"; a: Expr }
  | { op: "+" | "-" | "*" | "/"; a: Expr; b: Expr }
  | { op: "cmp"; rel: ">" | "<" | ">=" | "<=" | "==" | "!="; a: Expr; b: Expr }
  | { op: "?:"; test: Expr; a: Expr; b: Expr }
  | { op: "call"; fn: MathFunction; args: Expr[] };

type MathFunction = "exp" | "log" | "sqrt" | "pow" | "sin" | "cos" | "abs" | "min" | "max";
const FUNCTIONS: Record<string, number> = { exp: 1, log: 1, sqrt: 1, pow: 2, sin: 1, cos: 1, abs: 1, min: 2, max: 2 };
const CONSTANTS: Record<string, number> = { PI: Math.PI, E: Math.E, SQRT2: Math.SQRT2, SQRT1_2: Math.SQRT1_2, LN2: Math.LN2, LN10: Math.LN10, LOG2E: Math.LOG2E, LOG10E: Math.LOG10E };

class Unsupported extends Error {}

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)|(===|!==|==|!=|>=|<=|[-+*/()?:,;=<>]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new Unsupported(`cannot read "${src.slice(pos, pos + 20)}"`);
    tokens.push(m[1] ?? m[2] ?? m[3]);
    pos = re.lastIndex;
  }
  return tokens;
}

/** Recursive-descent reader over one token list. */
class Reader {
  private at = 0;
  constructor(private readonly tokens: string[]) {}

  done(): boolean {
    return this.at >= this.tokens.length;
  }
  peek(): string | undefined {
    return this.tokens[this.at];
  }
  take(expected?: string): string {
    const t = this.tokens[this.at++];
    if (t === undefined || (expected !== undefined && t !== expected)) throw new Unsupported(`expected ${expected ?? "a token"}, got ${t}`);
    return t;
  }

  expression(): Expr {
    const test = this.comparison();
    if (this.peek() !== "?") return test;
    this.take("?");
    const a = this.expression();
    this.take(":");
    const b = this.expression();
    return { op: "?:", test, a, b };
  }
  private comparison(): Expr {
    const a = this.additive();
    const t = this.peek();
    const rel = t === ">" || t === "<" || t === ">=" || t === "<=" ? t : t === "===" || t === "==" ? "==" : t === "!==" || t === "!=" ? "!=" : null;
    if (!rel) return a;
    this.take();
    return { op: "cmp", rel, a, b: this.additive() };
  }
  private additive(): Expr {
    let a = this.multiplicative();
    while (this.peek() === "+" || this.peek() === "-") {
      const op = this.take() as "+" | "-";
      a = { op, a, b: this.multiplicative() };
    }
    return a;
  }
  private multiplicative(): Expr {
    let a = this.unary();
    while (this.peek() === "*" || this.peek() === "/") {
      const op = this.take() as "*" | "/";
      a = { op, a, b: this.unary() };
    }
    return a;
  }
  private unary(): Expr {
    if (this.peek() === "-") {
      this.take();
      return { op: "neg", a: this.unary() };
    }
    if (this.peek() === "+") {
      this.take();
      return this.unary();
    }
    return this.primary();
  }
  private primary(): Expr {
    const t = this.take();
    if (t === "(") {
      const e = this.expression();
      this.take(")");
      return e;
    }
    if (/^[\d.]/.test(t)) return { op: "num", value: Number(t) };
    if (t.startsWith("Math.")) {
      const member = t.slice(5);
      if (member in CONSTANTS) return { op: "num", value: CONSTANTS[member] };
      if (!(member in FUNCTIONS)) throw new Unsupported(`Math.${member} has no WebAssembly form`);
      this.take("(");
      const args: Expr[] = [this.expression()];
      while (this.peek() === ",") {
        this.take();
        args.push(this.expression());
      }
      this.take(")");
      if (args.length !== FUNCTIONS[member]) throw new Unsupported(`Math.${member} takes ${FUNCTIONS[member]} arguments`);
      return { op: "call", fn: member as MathFunction, args };
    }
    if (/^[A-Za-z_$][\w$]*$/.test(t)) return { op: "var", name: t };
    throw new Unsupported(`unexpected ${t}`);
  }
}

/** A profile read into trees: prelude bindings in order, then the expressions. */
export interface ParsedProfile {
  bindings: { name: string; value: Expr }[];
  value: Expr;
  dValue: Expr;
  dParams: Expr[];
}

/** Names the parsed profile's free variables use. */
export const PROFILE_S = "S";
export const profileParam = (q: number) => `P${q}`;

// Weak: kernels such as the polynomial one make a fresh profile object per call.
const parsedCache = new WeakMap<Profile, ParsedProfile | null>();

/** The profile as expression trees, or null when its JavaScript is outside the language above. */
export function parseProfile(profile: Profile): ParsedProfile | null {
  if (parsedCache.has(profile)) return parsedCache.get(profile) ?? null;
  let parsed: ParsedProfile | null = null;
  try {
    const vars = { s: PROFILE_S, p: Array.from({ length: profile.numParams }, (_, q) => profileParam(q)), tmp: "T_" };
    const bindings: ParsedProfile["bindings"] = [];
    const prelude = new Reader(tokenize(profile.prelude(vars)));
    while (!prelude.done()) {
      const kw = prelude.take();
      if (kw !== "const" && kw !== "let") throw new Unsupported(`prelude statement starts with ${kw}`);
      // const a = ..., b = ...;
      for (;;) {
        const name = prelude.take();
        prelude.take("=");
        bindings.push({ name, value: prelude.expression() });
        if (prelude.peek() !== ",") break;
        prelude.take(",");
      }
      if (!prelude.done()) prelude.take(";");
    }
    const whole = (src: string): Expr => {
      const r = new Reader(tokenize(src));
      const e = r.expression();
      if (!r.done()) throw new Unsupported(`trailing ${r.peek()}`);
      return e;
    };
    const known = new Set([PROFILE_S, ...vars.p, ...bindings.map((b) => b.name)]);
    const check = (e: Expr): void => {
      if (e.op === "var" && !known.has(e.name)) throw new Unsupported(`unknown name ${e.name}`);
      for (const child of children(e)) check(child);
    };
    parsed = { bindings, value: whole(profile.value(vars)), dValue: whole(profile.dValue(vars)), dParams: profile.dParams(vars).map(whole) };
    bindings.forEach((b) => check(b.value));
    [parsed.value, parsed.dValue, ...parsed.dParams].forEach(check);
    if (parsed.dParams.length !== profile.numParams) throw new Unsupported("dParams count");
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    parsed = null;
  }
  parsedCache.set(profile, parsed);
  return parsed;
}

function children(e: Expr): Expr[] {
  switch (e.op) {
    case "num": case "var": return [];
    case "neg": return [e.a];
    case "?:": return [e.test, e.a, e.b];
    case "call": return e.args;
    default: return [e.a, e.b];
  }
}

/** Folds constant subtrees (5 / 6, Math.PI * 2, -0.5) so the kernel does not recompute them. */
export function fold(e: Expr): Expr {
  switch (e.op) {
    case "num": case "var": return e;
    case "neg": {
      const a = fold(e.a);
      return a.op === "num" ? { op: "num", value: -a.value } : { op: "neg", a };
    }
    case "?:": return { op: "?:", test: fold(e.test), a: fold(e.a), b: fold(e.b) };
    case "call": {
      const args = e.args.map(fold);
      if (args.every((x) => x.op === "num")) return { op: "num", value: (Math[e.fn] as (...v: number[]) => number)(...args.map((x) => (x as { value: number }).value)) };
      return { op: "call", fn: e.fn, args };
    }
    case "cmp": return { op: "cmp", rel: e.rel, a: fold(e.a), b: fold(e.b) };
    default: {
      const a = fold(e.a), b = fold(e.b);
      if (a.op === "num" && b.op === "num") {
        const value = e.op === "+" ? a.value + b.value : e.op === "-" ? a.value - b.value : e.op === "*" ? a.value * b.value : a.value / b.value;
        return { op: "num", value };
      }
      return { op: e.op, a, b };
    }
  }
}

/** What is known of an expression's sign: >= 0, <= 0, or nothing. */
type Sign = "nonNegative" | "nonPositive" | "unknown";

/** Sign of e, given names known to be >= 0. */
export function signOf(e: Expr, nonNegative: ReadonlySet<string>): Sign {
  const flip = (s: Sign): Sign => (s === "nonNegative" ? "nonPositive" : s === "nonPositive" ? "nonNegative" : "unknown");
  switch (e.op) {
    case "num": return e.value >= 0 ? "nonNegative" : "nonPositive";
    case "var": return nonNegative.has(e.name) ? "nonNegative" : "unknown";
    case "neg": return flip(signOf(e.a, nonNegative));
    case "call": return e.fn === "exp" || e.fn === "sqrt" || e.fn === "abs" ? "nonNegative" : "unknown";
    case "*": case "/": {
      const a = signOf(e.a, nonNegative), b = signOf(e.b, nonNegative);
      if (a === "unknown" || b === "unknown") return "unknown";
      return a === b ? "nonNegative" : "nonPositive";
    }
    case "+": {
      const a = signOf(e.a, nonNegative), b = signOf(e.b, nonNegative);
      return a === b ? a : "unknown";
    }
    case "-": {
      const a = signOf(e.a, nonNegative), b = flip(signOf(e.b, nonNegative));
      return a === b ? a : "unknown";
    }
    default: return "unknown";
  }
}

/** Whether e reads none of the `varying` names (so it can be computed once per call). */
export function isInvariant(e: Expr, varying: ReadonlySet<string>): boolean {
  if (e.op === "var") return !varying.has(e.name);
  return children(e).every((x) => isInvariant(x, varying));
}

/**
 * Rewrites e so that its subtrees that do not depend on the pair (only on
 * parameters) are computed once: each becomes a name from `hoist`, and a
 * division by such a subtree becomes a multiplication by its reciprocal.
 */
export function hoistInvariants(e: Expr, varying: ReadonlySet<string>, hoist: (e: Expr) => string): Expr {
  if (isInvariant(e, varying)) return e.op === "num" || e.op === "var" ? e : { op: "var", name: hoist(e) };
  const h = (x: Expr) => hoistInvariants(x, varying, hoist);
  switch (e.op) {
    case "neg": return { op: "neg", a: h(e.a) };
    case "?:": return { op: "?:", test: h(e.test), a: h(e.a), b: h(e.b) };
    case "call": return { op: "call", fn: e.fn, args: e.args.map(h) };
    case "cmp": return { op: "cmp", rel: e.rel, a: h(e.a), b: h(e.b) };
    case "/":
      if (isInvariant(e.b, varying)) {
        const reciprocal: Expr = e.b.op === "num" ? { op: "num", value: 1 / e.b.value } : { op: "var", name: hoist({ op: "/", a: { op: "num", value: 1 }, b: e.b }) };
        return { op: "*", a: h(e.a), b: reciprocal };
      }
      return { op: "/", a: h(e.a), b: h(e.b) };
    case "+": case "-": case "*": return { op: e.op, a: h(e.a), b: h(e.b) };
    default: return e;
  }
}

/** How many times e reads `name`. */
export function countUses(e: Expr, name: string): number {
  if (e.op === "var") return e.name === name ? 1 : 0;
  return children(e).reduce((n, x) => n + countUses(x, name), 0);
}

/** e with every read of `name` replaced by `value`. */
export function substitute(e: Expr, name: string, value: Expr): Expr {
  switch (e.op) {
    case "num": return e;
    case "var": return e.name === name ? value : e;
    case "neg": return { op: "neg", a: substitute(e.a, name, value) };
    case "?:": return { op: "?:", test: substitute(e.test, name, value), a: substitute(e.a, name, value), b: substitute(e.b, name, value) };
    case "call": return { op: "call", fn: e.fn, args: e.args.map((x) => substitute(x, name, value)) };
    case "cmp": return { op: "cmp", rel: e.rel, a: substitute(e.a, name, value), b: substitute(e.b, name, value) };
    default: return { op: e.op, a: substitute(e.a, name, value), b: substitute(e.b, name, value) };
  }
}

/**
 * A profile's value as (a bindings-free view of) `factor * exp(exponent)`,
 * or null when it has no exponential factor: exp(a) -> (null, a);
 * P * exp(a) and exp(a) * P -> (P, a); exp(a) * exp(b) -> (null, a + b).
 * Bindings read once by the value and by nothing else are inlined first, so
 * RBF's `const k = Math.exp(-0.5 * s)` with value `k` reads as exp(-0.5 s).
 * A product of such factors needs one exp per pair instead of one per
 * factor: exp(a) exp(b) = exp(a + b).
 */
export function splitExponential(
  bindings: readonly { name: string; value: Expr }[],
  value: Expr,
): { bindings: { name: string; value: Expr }[]; factor: Expr | null; exponent: Expr } | null {
  let kept = [...bindings];
  let v = value;
  for (const b of bindings) {
    if (b.value.op !== "call" || b.value.fn !== "exp") continue;
    if (countUses(v, b.name) !== 1 || kept.some((o) => o !== b && countUses(o.value, b.name) > 0)) continue;
    v = substitute(v, b.name, b.value);
    kept = kept.filter((o) => o !== b);
  }
  const split = (e: Expr): { factor: Expr | null; exponent: Expr } | null => {
    if (e.op === "call" && e.fn === "exp") return { factor: null, exponent: e.args[0] };
    if (e.op !== "*") return null;
    const l = split(e.a), r = split(e.b);
    const times = (x: Expr | null, y: Expr | null): Expr | null => (x && y ? { op: "*", a: x, b: y } : x ?? y);
    if (l && r) return { factor: times(l.factor, r.factor), exponent: { op: "+", a: l.exponent, b: r.exponent } };
    if (l) return { factor: times(l.factor, e.b), exponent: l.exponent };
    if (r) return { factor: times(e.a, r.factor), exponent: r.exponent };
    return null;
  };
  const parts = split(v);
  return parts ? { bindings: kept, ...parts } : null;
}

/** e as scale * rest with scale a power of two or its negative that exp can fold exactly (-0.5 * s, -a); else (1, e). */
export function exactScaleOf(e: Expr): { scale: number; rest: Expr } {
  if (e.op === "neg") {
    const inner = exactScaleOf(e.a);
    return { scale: -inner.scale, rest: inner.rest };
  }
  if (e.op === "*") {
    const [num, rest] = e.a.op === "num" ? [e.a.value, e.b] : e.b.op === "num" ? [e.b.value, e.a] : [NaN, e];
    if (isExactExpScale(num)) {
      const inner = exactScaleOf(rest);
      if (isExactExpScale(num * inner.scale)) return { scale: num * inner.scale, rest: inner.rest };
    }
  }
  return { scale: 1, rest: e };
}

/** Emits trees as f64x2 code: names resolve to v128 locals, `fresh` hands out scratch locals. */
export class ExpressionEmitter {
  /** Names known to be >= 0 (the statistic of sqdist, square roots): exp of minus them needs no upper clamp. */
  nonNegative: ReadonlySet<string> = new Set();

  /**
   * log2 of a local, by the local (pow's 2^(b log2 a)): a later log of the
   * same local is log2 times ln 2, one product (RQ's gradient reads log b
   * beside b^-alpha). Locals hold one value each within a pair's code.
   */
  private readonly log2Of = new Map<number, number>();

  constructor(
    private readonly c: Code,
    private readonly fresh: () => number,
  ) {}

  /** Pushes the value of e (both lanes). */
  push(e: Expr, names: Map<string, number>): void {
    const c = this.c;
    switch (e.op) {
      case "num":
        c.f64x2Const(e.value);
        return;
      case "var": {
        const local = names.get(e.name);
        if (local === undefined) throw new Error(`wasm profile: unbound name ${e.name}`);
        c.localGet(local);
        return;
      }
      case "neg":
        this.push(e.a, names);
        c.simd(Simd.f64x2Neg);
        return;
      case "+":
        // a * b + c (either side): one fused multiply-add where the kernels have FMA.
        if (e.a.op === "*" || e.b.op === "*") {
          const [product, other] = e.a.op === "*" ? [e.a, e.b] : [e.b as Extract<Expr, { op: "*" }>, e.a];
          this.push(product.a, names);
          this.push(product.b, names);
          c.mulAdd(() => this.push(other, names));
          return;
        }
        this.push(e.a, names);
        this.push(e.b, names);
        c.simd(Simd.f64x2Add);
        return;
      case "-": case "*": case "/":
        this.push(e.a, names);
        this.push(e.b, names);
        c.simd(e.op === "-" ? Simd.f64x2Sub : e.op === "*" ? Simd.f64x2Mul : Simd.f64x2Div);
        return;
      case "cmp": {
        // Mask lanes (all ones where true); a < b is b > a.
        const swap = e.rel === "<" || e.rel === "<=";
        this.push(swap ? e.b : e.a, names);
        this.push(swap ? e.a : e.b, names);
        c.simd(e.rel === ">" || e.rel === "<" ? Simd.f64x2Gt : e.rel === ">=" || e.rel === "<=" ? Simd.f64x2Ge : e.rel === "==" ? Simd.f64x2Eq : Simd.f64x2Ne);
        return;
      }
      case "?:":
        // Both sides are computed; the mask picks per lane (the other side may be Inf or NaN, unused).
        this.push(e.a, names);
        this.push(e.b, names);
        if (e.test.op === "cmp") this.push(e.test, names);
        else {
          this.push(e.test, names);
          c.f64x2Const(0).simd(Simd.f64x2Ne);
        }
        c.simd(Simd.v128Bitselect);
        return;
      case "call":
        this.call(e.fn, e.args, names);
        return;
    }
  }

  /** Evaluates e into a new local (or returns the local a plain name already lives in). */
  toLocal(e: Expr, names: Map<string, number>): number {
    if (e.op === "var") {
      const local = names.get(e.name);
      if (local !== undefined) return local;
    }
    const l = this.fresh();
    this.push(e, names);
    this.c.localSet(l);
    return l;
  }

  private call(fn: MathFunction, args: Expr[], names: Map<string, number>): void {
    const c = this.c;
    switch (fn) {
      case "sqrt": case "abs": case "min": case "max":
        args.forEach((a) => this.push(a, names));
        c.simd(fn === "sqrt" ? Simd.f64x2Sqrt : fn === "abs" ? Simd.f64x2Abs : fn === "min" ? Simd.f64x2Min : Simd.f64x2Max);
        return;
      case "exp": {
        // exp(c e) with c = +-2^j: c goes into exp's constants (no product or negation per pair).
        const { scale, rest } = exactScaleOf(args[0]);
        const x = this.fresh(), out = this.fresh();
        this.push(rest, names);
        c.localSet(x);
        emitExp(c, x, out, this.fresh(), signOf(args[0], this.nonNegative) === "nonPositive", scale);
        c.localGet(out);
        return;
      }
      case "log": {
        const x = this.toLocal(args[0], names);
        const lg2 = this.log2Of.get(x);
        if (lg2 !== undefined) {
          c.localGet(lg2).f64x2Const(Math.LN2).simd(Simd.f64x2Mul);
          return;
        }
        const out = this.fresh();
        emitLog(c, x, out, [this.fresh(), this.fresh(), this.fresh(), this.fresh()]);
        c.localGet(out);
        return;
      }
      case "sin": case "cos": {
        const x = this.toLocal(args[0], names), out = this.fresh();
        emitSinCos(c, x, fn === "sin" ? out : -1, fn === "cos" ? out : -1, [this.fresh(), this.fresh(), this.fresh(), this.fresh()]);
        c.localGet(out);
        return;
      }
      case "pow":
        this.pow(args[0], args[1], names);
        return;
    }
  }

  /** Integer exponents up to 32 by repeated squaring (exact for Math.pow's integer cases); 0.5 as sqrt; else 2^(b log2 a). */
  private pow(base: Expr, exponent: Expr, names: Map<string, number>): void {
    const c = this.c;
    if (exponent.op === "num" && Number.isInteger(exponent.value) && Math.abs(exponent.value) <= 32) {
      const n = Math.abs(exponent.value);
      if (exponent.value < 0) c.f64x2Const(1);
      if (n === 0) c.f64x2Const(1);
      else {
        let square = this.toLocal(base, names);
        let result = -1;
        for (let bit = n; bit > 0; bit >>= 1) {
          if (bit & 1) {
            if (result < 0) result = square;
            else {
              const r = this.fresh();
              c.localGet(result).localGet(square).simd(Simd.f64x2Mul).localSet(r);
              result = r;
            }
          }
          if (bit > 1) {
            const sq = this.fresh();
            c.localGet(square).localGet(square).simd(Simd.f64x2Mul).localSet(sq);
            square = sq;
          }
        }
        c.localGet(result);
      }
      if (exponent.value < 0) c.simd(Simd.f64x2Div);
      return;
    }
    if (exponent.op === "num" && exponent.value === 0.5) {
      this.push(base, names);
      c.simd(Simd.f64x2Sqrt);
      return;
    }
    // 2^(b log2 a): base 2 takes log's ln 2 split and exp's range-reduction products out.
    const x = this.toLocal(base, names), lg = this.fresh(), arg = this.fresh(), out = this.fresh();
    emitLog2(c, x, lg, [this.fresh(), this.fresh(), this.fresh(), this.fresh()]);
    this.log2Of.set(x, lg);
    this.push(exponent, names);
    c.localGet(lg).simd(Simd.f64x2Mul).localSet(arg);
    emitExp2(c, arg, out, this.fresh());
    c.localGet(out);
  }
}
