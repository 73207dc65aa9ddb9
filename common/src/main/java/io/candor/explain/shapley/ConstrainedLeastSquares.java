package io.candor.explain.shapley;

/**
 * Weighted least squares under one linear equality, {@code min Σ_k w_k (y_k − z_kᵀφ)² s.t. 1ᵀφ = Δ}, solved
 * through the inverse of the KKT matrix {@code [[A, 1], [1ᵀ, 0]]} with {@code A = Σ w z zᵀ}. Its top-left block
 * is {@code C = A⁻¹ − A⁻¹11ᵀA⁻¹ / 1ᵀA⁻¹1}, and its last column {@code c} gives {@code φ = C b + c Δ} with
 * {@code b = Σ w z y}. Working with the KKT matrix rather than {@code A⁻¹} also covers a singular {@code A} whose
 * null space the constraint fixes (one player: {@code A = 0}, {@code φ = Δ}).
 */
final class ConstrainedLeastSquares {
    private static final double SINGULAR = 1e-13;

    private ConstrainedLeastSquares() {
    }

    /** Inverse of {@code [[a, 1], [1ᵀ, 0]]} by Gauss–Jordan elimination with partial pivoting. */
    static double[][] kktInverse(double[][] a) {
        int m = a.length;
        int n = m + 1;
        double[][] k = new double[n][2 * n];
        double scale = 1;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                k[i][j] = a[i][j];
                scale = Math.max(scale, Math.abs(a[i][j]));
            }
            k[i][m] = 1;
            k[m][i] = 1;
        }
        for (int i = 0; i < n; i++) {
            k[i][n + i] = 1;
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(k[r][col]) > Math.abs(k[pivot][col])) {
                    pivot = r;
                }
            }
            if (Math.abs(k[pivot][col]) <= SINGULAR * scale) {
                throw new IllegalStateException("kernel regression matrix is singular at column " + col
                        + "; the sampled coalitions do not separate every pair of players");
            }
            double[] t = k[col];
            k[col] = k[pivot];
            k[pivot] = t;
            double inv = 1 / k[col][col];
            for (int j = 0; j < 2 * n; j++) {
                k[col][j] *= inv;
            }
            for (int r = 0; r < n; r++) {
                double f = k[r][col];
                if (r != col && f != 0) {
                    for (int j = 0; j < 2 * n; j++) {
                        k[r][j] -= f * k[col][j];
                    }
                }
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(k[i], n, inv[i], 0, n);
        }
        return inv;
    }
}
