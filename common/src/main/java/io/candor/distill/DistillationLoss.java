package io.candor.distill;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * The knowledge-distillation loss as a DL4J loss function (Hinton, Vinyals, Dean 2015, "Distilling the Knowledge in a
 * Neural Network"). The student's output layer emits logits {@code z} (identity activation); each label row holds the
 * teacher's {@code K} outputs followed by the {@code K}-wide true label, so one DataSet carries both targets.
 *
 * <ul>
 *   <li>Classification: {@code α·T²·KL(softmax(z_t/T) ‖ softmax(z/T)) + (1−α)·CE(y, softmax(z))}, gradient
 *   {@code α·T·(softmax(z/T) − softmax(z_t/T)) + (1−α)·(softmax(z) − y)}. The T² keeps the soft term's gradient
 *   on the hard term's scale as T changes (Hinton et al. §2). Teacher "logits" may be any log-probabilities: softmax
 *   is invariant to a constant shift.</li>
 *   <li>Regression: {@code α·MSE(z, teacher) + (1−α)·MSE(z, y)}, MSE averaged over the {@code K} outputs.</li>
 * </ul>
 * Computed in double precision. Like DL4J's own losses, {@link #computeGradient} is per example (the updater divides
 * by the minibatch size) and {@code average} divides the score by it. A mask, if given, weights whole examples.
 */
public final class DistillationLoss implements ILossFunction {
    private static final long serialVersionUID = 1L;

    @JsonProperty
    private double temperature;
    @JsonProperty
    private double alpha;
    @JsonProperty
    private boolean classification;

    public DistillationLoss() {
    }

    public DistillationLoss(double temperature, double alpha, boolean classification) {
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature: " + temperature + "; expected a finite T > 0");
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha: " + alpha + "; expected a weight in [0, 1]");
        }
        this.temperature = temperature;
        this.alpha = alpha;
        this.classification = classification;
    }

    public double temperature() {
        return temperature;
    }

    public double alpha() {
        return alpha;
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        double sum = computeScoreArray(labels, preOutput, activationFn, mask).sumNumber().doubleValue();
        return average ? sum / preOutput.size(0) : sum;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return evaluate(labels, preOutput, activationFn, mask, false).getFirst();
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return evaluate(labels, preOutput, activationFn, mask, true).getSecond();
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        Pair<INDArray, INDArray> both = evaluate(labels, preOutput, activationFn, mask, true);
        double sum = both.getFirst().sumNumber().doubleValue();
        return new Pair<>(average ? sum / preOutput.size(0) : sum, both.getSecond());
    }

    /** {per-example scores [n, 1], gradient with respect to preOutput (or null)}. */
    private Pair<INDArray, INDArray> evaluate(INDArray labels, INDArray preOutput, IActivation activationFn,
                                              INDArray mask, boolean withGradient) {
        int n = (int) preOutput.size(0);
        int k = (int) preOutput.size(1);
        if (labels.size(0) != n || labels.size(1) != 2L * k) {
            throw new IllegalArgumentException("labels: shape [" + labels.size(0) + ", " + labels.size(1)
                    + "]; expected [" + n + ", " + 2 * k + "], the teacher's outputs then the true label");
        }
        // Flat copies: INDArray.toDoubleMatrix() makes one native array per row, which cost more than the whole loss.
        double[] z = flat(activationFn.getActivation(preOutput.dup(), true));
        double[] target = flat(labels);
        double[] weights = maskWeights(mask, n);
        double[] scores = new double[n];
        double[] grad = new double[n * k];
        double[] teacher = new double[k];
        double[] zi = new double[k];
        for (int i = 0; i < n; i++) {
            System.arraycopy(target, i * 2 * k, teacher, 0, k);
            System.arraycopy(z, i * k, zi, 0, k);
            int yOff = i * 2 * k + k;
            int gOff = i * k;
            if (classification) {
                double[] pt = softmax(teacher, temperature);
                double[] logPsT = logSoftmax(zi, temperature);
                double[] logPs = logSoftmax(zi, 1.0);
                double kl = 0;
                double ce = 0;
                for (int j = 0; j < k; j++) {
                    if (pt[j] > 0) {
                        kl += pt[j] * (Math.log(pt[j]) - logPsT[j]);
                    }
                    ce -= target[yOff + j] * logPs[j];
                    grad[gOff + j] = alpha * temperature * (Math.exp(logPsT[j]) - pt[j])
                            + (1 - alpha) * (Math.exp(logPs[j]) - target[yOff + j]);
                }
                scores[i] = alpha * temperature * temperature * kl + (1 - alpha) * ce;
            } else {
                double soft = 0;
                double hard = 0;
                for (int j = 0; j < k; j++) {
                    double dt = zi[j] - teacher[j];
                    double dy = zi[j] - target[yOff + j];
                    soft += dt * dt;
                    hard += dy * dy;
                    grad[gOff + j] = 2 * (alpha * dt + (1 - alpha) * dy) / k;
                }
                scores[i] = (alpha * soft + (1 - alpha) * hard) / k;
            }
            scores[i] *= weights[i];
            for (int j = 0; j < k; j++) {
                grad[gOff + j] *= weights[i];
            }
        }
        INDArray scoreArray = Nd4j.create(scores, new long[] {n, 1}, DataType.DOUBLE).castTo(preOutput.dataType());
        if (!withGradient) {
            return new Pair<>(scoreArray, null);
        }
        INDArray dLdz = Nd4j.create(grad, new long[] {n, k}, DataType.DOUBLE).castTo(preOutput.dataType());
        INDArray dLdPreOut = activationFn.backprop(preOutput.dup(), dLdz).getFirst();
        return new Pair<>(scoreArray, dLdPreOut);
    }

    /** Row-major doubles of a 2-d array. */
    private static double[] flat(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    private static double[] maskWeights(INDArray mask, int n) {
        double[] w = new double[n];
        if (mask == null) {
            java.util.Arrays.fill(w, 1.0);
            return w;
        }
        double[] m = flat(mask);
        int perRow = m.length / n;
        for (int i = 0; i < n; i++) {
            w[i] = m[i * perRow]; // per-example masks; a per-output mask uses its first column
        }
        return w;
    }

    static double[] logSoftmax(double[] logits, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) {
            max = Math.max(max, v / temperature);
        }
        double sum = 0;
        for (double v : logits) {
            sum += Math.exp(v / temperature - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int j = 0; j < logits.length; j++) {
            out[j] = logits[j] / temperature - lse;
        }
        return out;
    }

    static double[] softmax(double[] logits, double temperature) {
        double[] out = logSoftmax(logits, temperature);
        for (int j = 0; j < out.length; j++) {
            out[j] = Math.exp(out[j]);
        }
        return out;
    }

    @Override
    public String name() {
        return "distillation(T=" + temperature + ", alpha=" + alpha + (classification ? ")" : ", regression)");
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DistillationLoss d && d.temperature == temperature && d.alpha == alpha
                && d.classification == classification;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(temperature, alpha, classification);
    }
}
