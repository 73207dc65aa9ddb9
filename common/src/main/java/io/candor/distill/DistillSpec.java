package io.candor.distill;

import io.candor.model.ModelSpec;

/**
 * The {@code distill} section of the conf.
 *
 * @param student the student architecture (name, source and path unused)
 * @param epochs student training epochs
 * @param teacher an artifact directory, empty for the model's {@code teacher-fp32}
 * @param logitsPath the teacher-outputs table, empty for {@code <root>/teacher_logits/<model>}
 */
public record DistillSpec(ModelSpec student, double temperature, double alpha, int epochs, double learningRate,
                          boolean quantize, int bits, int qatEpochs, String teacher, String logitsPath) {
    public static final String STUDENT_FP32 = "student-fp32";

    public String quantizedVariant() {
        return "student-int" + bits;
    }
}
