"""Fits the rational exp of lib/reductions/wasm/vectorMath.ts (EXP_E, EXP_O).

exp(r) ~ (E(z) + r O(z)) / (E(z) - r O(z)), z = r^2, |r| <= ln 2 / 2, with
E = 1 + e1 z + ... and O = 1/2 + o1 z + ...: the form gives exp(r) exp(-r) = 1
and exp(0) = 1 exactly. The equation N(r) = e^r N(-r) is linear in the
coefficients: E(z) = O(z) R(z) with R(r) = r coth(r / 2). Lawson's iteration
(weighted least squares whose weights grow where the error is largest)
makes the relative error of exp equioscillate; the linear residual is
turned into exp's relative error by d log(N(r)/N(-r)) / dE = -2 r O / (E^2 - r^2 O^2).

    python3 scripts/fit-exp-rational.py [E degree in z] [O degree in z]   # default 2 2

needs mpmath (python3-mpmath). Prints the largest relative error on a fine
grid and the coefficients as doubles. (2, 2): 8.4e-19; (2, 1): 1.1e-14.
"""
import sys

import mpmath as mp

mp.mp.dps = 60
H = mp.log(2) / 2
NE = int(sys.argv[1]) if len(sys.argv) > 1 else 2
NO = int(sys.argv[2]) if len(sys.argv) > 2 else 2
NODES = 400
rs = [H * (1 + mp.cos(mp.pi * (i + 0.5) / NODES)) / 2 for i in range(NODES)]


def R(r):
    return r * mp.coth(r / 2)


def eo(c, z):
    e = [mp.mpf(1)] + c[:NE]
    o = c[NE:]
    return sum(e[j] * z**j for j in range(len(e))), sum(o[j] * z**j for j in range(len(o)))


def rel_err(c, r):
    E, O = eo(c, r * r)
    return (E + r * O) / (E - r * O) / mp.exp(r) - 1


lam = [mp.mpf(1) / NODES] * NODES
w = list(rs)
for _ in range(60):
    # Unknowns e1..e_NE, o0..o_NO; residual (E - O R) * weight.
    A = mp.matrix(NODES, NE + NO + 1)
    b = mp.matrix(NODES, 1)
    for i, r in enumerate(rs):
        z, s, Rr = r * r, mp.sqrt(lam[i]) * w[i], R(r)
        for j in range(NE):
            A[i, j] = s * z ** (j + 1)
        for j in range(NO + 1):
            A[i, NE + j] = -s * z**j * Rr
        b[i] = -s
    x = mp.lu_solve(A.T * A, A.T * b)
    c = [x[j] for j in range(NE + NO + 1)]
    errs = []
    for i, r in enumerate(rs):
        E, O = eo(c, r * r)
        errs.append(rel_err(c, r))
        w[i] = 2 * r * O / (E * E - r * r * O * O)
    total = sum(lam[i] * abs(errs[i]) for i in range(NODES))
    lam = [lam[i] * abs(errs[i]) / total for i in range(NODES)]

worst = max(abs(rel_err(c, H * i / 2000)) for i in range(1, 2001))
print("max relative error on |r| <= ln2/2:", mp.nstr(worst, 3))
print("EXP_E =", [1] + [float(v) for v in c[:NE]])
print("EXP_O =", [float(v) for v in c[NE:]])
