/* Faster kernel.c (scripted fake-runner iteration 1): same results, lower best_cycles.
 *
 * - Row by row, so the grids are read and written in memory order (cache lines are reused).
 * - No per-neighbour function call and bounds check: edges are handled per row and at the
 *   end of each row, not per cell.
 * - Left, centre and right slide through registers: three loads (right, up, down) and one
 *   store per cell, and `restrict` lets the compiler keep values in registers.
 */
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
