package io.candor.config;

import io.candor.data.DatasetSpec;
import io.candor.explain.ImportanceSpec;
import io.candor.explain.ShapleySpec;
import io.candor.model.ModelSpec;
import io.candor.distill.DistillSpec;
import io.candor.quant.QatSpec;
import io.candor.train.TrainSpec;

import java.time.LocalDate;

/**
 * A validated job configuration: the typed specs plus the rendered HOCON and its hash, recorded with every run
 * as provenance.
 */
public record CandorConf(
        long seed,
        LocalDate date,
        String sparkMaster,
        String appName,
        String outputRoot,
        DatasetSpec dataset,
        ModelSpec model,
        TrainSpec train,
        QatSpec qat,
        DistillSpec distill,
        ImportanceSpec importance,
        ShapleySpec shapley,
        String source,
        String rendered,
        String sha256) {

    /** Model name in tables and artifacts: {@code model.name}, else the dataset's name. */
    public String modelName() {
        return model.name().isEmpty() ? dataset.name() : model.name();
    }
}
