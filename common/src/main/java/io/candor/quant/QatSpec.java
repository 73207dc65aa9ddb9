package io.candor.quant;

/**
 * The {@code qat} section of the conf: how {@code candor qat} quantizes a trained model.
 *
 * @param source an artifact directory or a DL4J zip; empty for the model's own {@code teacher-fp32} artifact
 */
public record QatSpec(Mode mode, int bits, int epochs, double learningRate, CalibrationPass.Method calibration,
                      double percentile, int calibrationBins, String source) {

    /** QAT fine-tunes the fake-quant twin; PTQ only calibrates it. */
    public enum Mode { QAT, PTQ }

    /** The variant the result is saved as: {@code teacher-int8}, {@code teacher-int4}, with {@code -ptq} for PTQ. */
    public String variant() {
        return "teacher-int" + bits + (mode == Mode.PTQ ? "-ptq" : "");
    }

    public CalibrationPass.Options calibrationOptions() {
        return new CalibrationPass.Options(calibration, percentile, calibrationBins, 256);
    }
}
