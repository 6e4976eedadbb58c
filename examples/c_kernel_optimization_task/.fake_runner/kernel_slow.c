/* Slower kernel.c (scripted fake-runner iteration 2): same results, higher best_cycles.
 *
 * A "generic" rewrite that makes things worse: the stencil as a 3 x 3 convolution with a
 * weight table (four of the nine taps have weight 0 but are still loaded and multiplied),
 * a bounds-checked helper call per tap, column-by-column traversal, and every tap accumulated
 * through memory (read-modify-write of out).
 */
#include "kernel.h"

static const double weights[3][3] = {
    {0.0, STENCIL_EDGE, 0.0},
    {STENCIL_EDGE, STENCIL_CENTER, STENCIL_EDGE},
    {0.0, STENCIL_EDGE, 0.0},
};

/* Value of cell (i, j), or 0 outside the grid. */
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
            for (int di = -1; di <= 1; di++)
                for (int dj = -1; dj <= 1; dj++)
                    out[i * cols + j] += weights[di + 1][dj + 1] * cell(in, rows, cols, i + di, j + dj);
        }
    }
}
