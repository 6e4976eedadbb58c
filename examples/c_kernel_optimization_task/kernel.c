/* The kernel to optimise: correct, but slow. See kernel.h for the contract and task.md for
 * how it is scored (python3 benchmark.py --json --mode final, lower best_cycles is better). */
#include "kernel.h"

/* Value of cell (i, j) of `grid`, or 0 when (i, j) is outside the grid. */
static double cell(const double *grid, int rows, int cols, int i, int j)
{
    if (i < 0 || i >= rows || j < 0 || j >= cols)
        return 0.0;
    return grid[i * cols + j];
}

void stencil5(int rows, int cols, const double *in, double *out)
{
    for (int j = 0; j < cols; j++) {
        for (int i = 0; i < rows; i++) {
            out[i * cols + j] = 0.0;
            out[i * cols + j] += STENCIL_CENTER * cell(in, rows, cols, i, j);
            out[i * cols + j] += STENCIL_EDGE * cell(in, rows, cols, i - 1, j);
            out[i * cols + j] += STENCIL_EDGE * cell(in, rows, cols, i + 1, j);
            out[i * cols + j] += STENCIL_EDGE * cell(in, rows, cols, i, j - 1);
            out[i * cols + j] += STENCIL_EDGE * cell(in, rows, cols, i, j + 1);
        }
    }
}
