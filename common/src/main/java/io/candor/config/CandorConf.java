package io.candor.config;

import io.candor.data.DatasetSpec;
import io.candor.explain.ImportanceSpec;
import io.candor.explain.ShapleySpec;
import io.candor.audit.AuditSpec;
import io.candor.model.ModelSpec;
import io.candor.distill.DistillSpec;
import io.candor.quant.QatSpec;
import io.candor.train.TrainSpec;

import java.time.LocalDate;

/**
 * A validated job configuration: the typed specs plus the rendered HOCON and its hash, recorded with every run
 * as provenance. {@code modelsRoot} holds the model artifacts ({@code output.models-root}, else
 * {@code <output.root>/models}); {@code tablesRoot} is where result tables are written: {@code output.root}, except
 * while an audit stages its tables before committing them together.
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
        AuditSpec audit,
        String modelsRoot,
        String source,
        String rendered,
        String sha256,
        String tablesRoot) {

    /** Model name in tables and artifacts: {@code model.name}, else the dataset's name. */
    public String modelName() {
        return model.name().isEmpty() ? dataset.name() : model.name();
    }

    /** This conf with result tables written under {@code root} instead (an audit's staging directory). */
    public CandorConf withTablesRoot(String root) {
        return new CandorConf(seed, date, sparkMaster, appName, outputRoot, dataset, model, train, qat, distill,
                importance, shapley, audit, modelsRoot, source, rendered, sha256, root);
    }
}
