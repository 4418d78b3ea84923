"""Fit the two rational approximations app/engine/layers.py evaluates erf with.

    .venv/bin/python scripts/fit_erf.py

Below |x| = 1.5: erf(x) = x·T(z)/U(z), z = x², T of degree 6 and U monic of degree 6, near-minimax in
relative error over z in [0, 2.25]. From there: erf(|x|) = 1 − exp(−x²)·P(|x|)/Q(|x|), P of degree 5
and Q monic of degree 5, near-minimax in erfc's absolute error (what erf = 1 − erfc loses) over |x| in
[1.5, 6] (past 6 erf is 1 to the last bit). Each: a linear least-squares fit at Chebyshev nodes,
reweighted by Lawson's iteration (each weight times the square root of its node's error), in 40-digit
arithmetic (mpmath, which PyTorch's sympy brings; the engine itself never imports it). Prints the
coefficients highest power first, as _ERF_T, _ERF_U, _ERFC_P and _ERFC_Q hold them, and each fit's
largest error on a fine grid (about 2e-18 and 7e-19 of erf: what remains, a few ulp at most, is
float64's rounding, which tests/test_layers_parity.py bounds).

Why not Cephes' (ndtr.c: degrees 4 and 5 below 1, 8 and 8 from 1 to 8): with the first branch up to
1.5, the costly second one (exp(−x²) and two polynomials, on the elements gathered and scattered back)
meets 13 % of a standard normal sample instead of 32 %, for two more terms per polynomial on every
element; and from 1.5, where erfc is at most 0.034, the second needs five terms per polynomial, not eight.
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath as mp


def lawson(
    target: Callable[[mp.mpf], mp.mpf],
    scale: Callable[[mp.mpf], mp.mpf],
    low: mp.mpf,
    high: mp.mpf,
    degree: int,
) -> tuple[list[mp.mpf], list[mp.mpf], mp.mpf]:
    """(numerator, denominator with constant term 1, the largest error), lowest power first: the
    rational function of `degree` over `degree` nearest `target` on [low, high] in error · scale."""
    nodes = 4 * (2 * degree + 1) + 60
    vs = [low + (high - low) * (1 - mp.cos(mp.pi * (i + mp.mpf(0.5)) / nodes)) / 2 for i in range(nodes)]
    fs = [target(v) for v in vs]
    grid = [low + (high - low) * i / 3000 for i in range(3001)]
    exact = [(target(v), scale(v)) for v in grid]
    weights = [mp.mpf(1)] * nodes
    best: tuple[mp.mpf, list[mp.mpf], list[mp.mpf]] = (mp.inf, [], [])
    for _ in range(40):
        # numerator(v) − f·(denominator(v) − 1) = f at every node, each row weighted and scaled
        rows = mp.matrix(nodes, 2 * degree + 1)
        rhs = mp.matrix(nodes, 1)
        for i, (v, f) in enumerate(zip(vs, fs)):
            s = weights[i] * scale(v)
            for k in range(degree + 1):
                rows[i, k] = s * v**k
            for k in range(1, degree + 1):
                rows[i, degree + k] = -s * f * v**k
            rhs[i] = s * f
        solution = mp.qr_solve(rows, rhs)[0]
        num = [solution[k] for k in range(degree + 1)]
        den = [mp.mpf(1)] + [solution[degree + k] for k in range(1, degree + 1)]

        def ratio(v: mp.mpf, num: list[mp.mpf] = num, den: list[mp.mpf] = den) -> mp.mpf:
            return mp.polyval(num[::-1], v) / mp.polyval(den[::-1], v)

        worst = max(abs((ratio(v) - f) * s) for v, (f, s) in zip(grid, exact))
        if worst < best[0]:
            best = (worst, num, den)
        errors = [abs((ratio(v) - f) * scale(v)) for v, f in zip(vs, fs)]
        weights = [w * mp.sqrt(e) for w, e in zip(weights, errors)]
        total = sum(weights)
        weights = [w / total * nodes for w in weights]
    return best[1], best[2], best[0]


def erf_over_x(z: mp.mpf) -> mp.mpf:
    if z == 0:
        return 2 / mp.sqrt(mp.pi)
    x = mp.sqrt(z)
    return mp.erf(x) / x


def scaled_erfc(a: mp.mpf) -> mp.mpf:
    return mp.erfc(a) * mp.exp(a * a)


def show(names: tuple[str, str], num: list[mp.mpf], den: list[mp.mpf], worst: mp.mpf) -> None:
    lead = den[-1]  # made monic: the denominator's leading 1 is implied, one multiplication fewer
    print(names[0], "=", tuple(float(c / lead) for c in reversed(num)))
    print(names[1], "=", tuple(float(c / lead) for c in reversed(den[:-1])))
    print("  largest error:", mp.nstr(worst, 3))


def main() -> None:
    mp.mp.dps = 40
    show(
        ("_ERF_T", "_ERF_U"),
        *lawson(erf_over_x, lambda z: 1 / erf_over_x(z), mp.mpf(0), mp.mpf("2.25"), 6),  # relative
    )
    show(
        ("_ERFC_P", "_ERFC_Q"),
        *lawson(scaled_erfc, lambda a: mp.exp(-a * a), mp.mpf("1.5"), mp.mpf(6), 5),  # erfc's absolute
    )


if __name__ == "__main__":
    main()
