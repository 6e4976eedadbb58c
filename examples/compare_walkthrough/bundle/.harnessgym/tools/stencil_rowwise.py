#!/usr/bin/env python3
"""Rewrite kernel.c as a row-order 5-point stencil (the `stencil5` contract of kernel.h).

Usage: python3 .harnessgym/tools/stencil_rowwise.py [kernel.c]

What it writes touches memory in order (each row of `in` and `out` once per cell, cache lines
reused), makes no per-neighbour call or bounds check (edges are handled per row), and slides
left/centre/right through registers: three loads and one store per cell. Valid for any
rows, cols >= 1. Check it with `python3 benchmark.py --json --mode dev` before keeping it.
"""
import sys

KERNEL = '''/* kernel.c written by .harnessgym/tools/stencil_rowwise.py: row order, no per-cell calls,
 * left/centre/right sliding through registers. Same results as the original. */
#include "kernel.h"

/* Row with a neighbour row above and below. */
static void row_both(int cols, const double *restrict up, const double *restrict mid,
                     const double *restrict down, double *restrict out)
{
    double left = 0.0, centre = mid[0];
    int j = 0;
    for (; j + 1 < cols; j++) {
        double right = mid[j + 1];
        out[j] = STENCIL_CENTER * centre + STENCIL_EDGE * ((left + right) + (up[j] + down[j]));
        left = centre;
        centre = right;
    }
    out[j] = STENCIL_CENTER * centre + STENCIL_EDGE * (left + (up[j] + down[j]));
}

/* Top or bottom row: one vertical neighbour row. */
static void row_one(int cols, const double *restrict vert, const double *restrict mid,
                    double *restrict out)
{
    double left = 0.0, centre = mid[0];
    int j = 0;
    for (; j + 1 < cols; j++) {
        double right = mid[j + 1];
        out[j] = STENCIL_CENTER * centre + STENCIL_EDGE * ((left + right) + vert[j]);
        left = centre;
        centre = right;
    }
    out[j] = STENCIL_CENTER * centre + STENCIL_EDGE * (left + vert[j]);
}

/* A grid with a single row: no vertical neighbours. */
static void row_none(int cols, const double *restrict mid, double *restrict out)
{
    double left = 0.0, centre = mid[0];
    int j = 0;
    for (; j + 1 < cols; j++) {
        double right = mid[j + 1];
        out[j] = STENCIL_CENTER * centre + STENCIL_EDGE * (left + right);
        left = centre;
        centre = right;
    }
    out[j] = STENCIL_CENTER * centre + STENCIL_EDGE * left;
}

void stencil5(int rows, int cols, const double *restrict in, double *restrict out)
{
    if (rows == 1) {
        row_none(cols, in, out);
        return;
    }
    row_one(cols, in + cols, in, out);
    for (int i = 1; i + 1 < rows; i++) {
        const double *mid = in + (long)i * cols;
        row_both(cols, mid - cols, mid, mid + cols, out + (long)i * cols);
    }
    const double *last = in + (long)(rows - 1) * cols;
    row_one(cols, last - cols, last, out + (long)(rows - 1) * cols);
}
'''


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "kernel.c"
    with open(path, "w") as out:
        out.write(KERNEL)
    print("stencil_rowwise: wrote", path)


if __name__ == "__main__":
    main()
