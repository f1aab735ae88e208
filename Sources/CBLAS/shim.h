#ifndef QUIVER_CBLAS_SHIM_H
#define QUIVER_CBLAS_SHIM_H
// OpenBLAS on Linux (Debian libopenblas-dev); Accelerate on macOS.
#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
// OpenBLAS extensions used to keep its thread pool from fighting ours.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
#endif
