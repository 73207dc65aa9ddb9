package io.candor.quant;

import io.candor.quant.intmodel.ActivationQuant;
import io.candor.quant.intmodel.HiddenActivation;
import io.candor.quant.intmodel.IntConv2d;
import io.candor.quant.intmodel.IntDense;
import io.candor.quant.intmodel.IntLayer;
import io.candor.quant.intmodel.IntMaxPool2d;
import io.candor.quant.intmodel.IntegerModel;
import io.candor.quant.intmodel.OutputActivation;
import io.candor.util.InputException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fake-quant twin of a float DL4J {@link MultiLayerNetwork}, and its conversion to an {@link IntegerModel}.
 *
 * <p>The twin is the same network with batch normalisation folded into the preceding dense or convolution layer
 * (and a following ReLU/identity {@code ActivationLayer} merged into it), weights fake-quantized per output channel
 * ({@link FakeQuantWeights}), the input and every hidden weighted layer's output fake-quantized per tensor to uint8
 * ({@link FakeQuantInput}, {@link FakeQuantActivation}). It is an ordinary DL4J network: it trains through dl4j-spark,
 * saves as a DL4J zip, and its inference is the simulation the integer model must agree with.
 *
 * <p>Supported: dense, 2-D convolution (NCHW, dilation 1), max subsampling, batch normalisation (folded), dropout and
 * a dense output layer; hidden activations ReLU or identity (they fuse into the uint8 clamp); output softmax, sigmoid
 * or identity, computed in float from dequantized logits. Anything else is an {@link InputException} naming the layer.
 */
public final class QuantizedTwin {
    private QuantizedTwin() {
    }

    /**
     * Builds the twin with its activation quantization switched off ("observing"), ready for calibration.
     *
     * @param source names the network in error messages
     */
    public static MultiLayerNetwork of(MultiLayerNetwork fp32, int bits, String source) {
        return of(fp32, bits, source, null);
    }

    /** As {@link #of(MultiLayerNetwork, int, String)}, training with {@code updater} (null: the network's own). */
    public static MultiLayerNetwork of(MultiLayerNetwork fp32, int bits, String source, IUpdater updater) {
        if (bits < QuantParams.MIN_BITS || bits > QuantParams.MAX_BITS) {
            throw new InputException("quantization bits: " + bits + " is outside " + QuantParams.MIN_BITS + ".."
                    + QuantParams.MAX_BITS + "; expected a weight bit width in that range");
        }
        MultiLayerConfiguration conf = fp32.getLayerWiseConfigurations().clone();
        List<NeuralNetConfiguration> kept = new ArrayList<>();
        Map<Integer, InputPreProcessor> preprocessors = new HashMap<>();
        List<Map<String, INDArray>> params = new ArrayList<>();
        int layers = conf.getConfs().size();
        for (int i = 0; i < layers; i++) {
            NeuralNetConfiguration nnc = conf.getConf(i);
            Layer layer = nnc.getLayer();
            String where = source + " layer " + i + " (" + layer.getClass().getSimpleName() + ")";
            InputPreProcessor pre = conf.getInputPreProcess(i);
            if (layer instanceof BatchNormalization || layer instanceof ActivationLayer) {
                int previous = kept.size() - 1;
                if (previous < 0 || !isWeighted(kept.get(previous).getLayer()) || pre != null
                        || !(activation(kept.get(previous).getLayer()) instanceof ActivationIdentity)) {
                    throw new InputException(where + ": can only be folded into a directly preceding dense or"
                            + " convolution layer with identity activation; expected that layer order");
                }
                Layer target = kept.get(previous).getLayer();
                if (layer instanceof BatchNormalization) {
                    ChannelAxis axis = axisOf(target);
                    BatchNormStats stats = BatchNormStats.of(fp32.getLayer(i));
                    Map<String, INDArray> p = params.get(previous);
                    BatchNormFolding.Folded folded = BatchNormFolding.fold(p.get(DefaultParamInitializer.WEIGHT_KEY),
                            p.get(DefaultParamInitializer.BIAS_KEY), axis, stats);
                    p.put(DefaultParamInitializer.WEIGHT_KEY, folded.weights());
                    p.put(DefaultParamInitializer.BIAS_KEY, folded.bias());
                    setHasBias(target);
                } else {
                    IActivation fn = ((ActivationLayer) layer).getActivationFn();
                    requireHidden(fn, where);
                    ((BaseLayer) target).setActivationFn(fn);
                }
                continue;
            }
            checkSupported(layer, i == layers - 1, where);
            if (pre != null) {
                preprocessors.put(kept.size(), pre);
            }
            Map<String, INDArray> p = new HashMap<>();
            fp32.getLayer(i).paramTable().forEach((k, v) -> p.put(k, v.dup()));
            params.add(p);
            kept.add(nnc);
        }
        for (int j = 0; j < kept.size(); j++) {
            Layer layer = kept.get(j).getLayer();
            if (updater != null && layer instanceof BaseLayer b) {
                b.setIUpdater(updater.clone());
                b.setBiasUpdater(null);
            }
            if (isWeighted(layer)) {
                ((BaseLayer) layer).setWeightNoise(new FakeQuantWeights(bits, axisOf(layer)));
                if (!(layer instanceof OutputLayer)) {
                    ((BaseLayer) layer).setActivationFn(new FakeQuantActivation(activation(layer)));
                }
            }
        }
        preprocessors.put(0, new FakeQuantInput(preprocessors.get(0)));
        conf.setConfs(kept);
        conf.setInputPreProcessors(preprocessors);
        MultiLayerNetwork twin = new MultiLayerNetwork(conf);
        twin.init();
        for (int j = 0; j < kept.size(); j++) {
            for (Map.Entry<String, INDArray> e : params.get(j).entrySet()) {
                twin.getLayer(j).setParam(e.getKey(), e.getValue().castTo(twin.getLayer(j).getParam(e.getKey())
                        .dataType()));
            }
        }
        return twin;
    }

    /** A copy of the twin's configuration and parameters with every activation quantization switched off. */
    public static MultiLayerNetwork observing(MultiLayerNetwork twin) {
        // Through JSON, not clone(): DL4J's clone shares activation objects, and switching the copy's off must leave
        // the twin's on.
        MultiLayerNetwork copy = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(
                twin.getLayerWiseConfigurations().toJson()));
        copy.init(twin.params().dup(), false);
        FakeQuantInput input = input(copy);
        input.setEnabled(false);
        for (int l = 0; l < copy.getnLayers(); l++) {
            if (activation(copy.getLayer(l).conf().getLayer()) instanceof FakeQuantActivation a) {
                a.setEnabled(false);
            }
        }
        return copy;
    }

    /**
     * Sets calibrated ranges in place: the input's, each hidden weighted layer's output's, and each weighted layer's
     * input scale for its int32 bias. The network's own configuration objects change, so the next dl4j-spark fit
     * broadcasts them to every worker.
     *
     * @param input the calibrated input range
     * @param layerOutputs per twin layer, the calibrated range of its output (used for hidden weighted layers)
     */
    public static void applyRanges(MultiLayerNetwork twin, CalibrationPass.LayerRange input,
                                   List<CalibrationPass.LayerRange> layerOutputs) {
        ActivationQuant current = quantOf(input);
        input(twin).quantizeWith(current);
        for (int l = 0; l < twin.getnLayers(); l++) {
            Layer layer = twin.getLayerWiseConfigurations().getConf(l).getLayer();
            if (!isWeighted(layer)) {
                continue;
            }
            ((FakeQuantWeights) ((BaseLayer) layer).getWeightNoise()).setInputScale(current.scale());
            if (activation(layer) instanceof FakeQuantActivation a) {
                current = quantOf(layerOutputs.get(l));
                a.quantizeWith(current);
            }
        }
    }

    /** The uint8 quantization of a calibrated range, with the float32 scale all consumers share. */
    public static ActivationQuant quantOf(CalibrationPass.LayerRange range) {
        QuantParams p = range.params();
        return new ActivationQuant((float) p.scale(0), p.zeroPoint(0));
    }

    /** The input quantization of a twin. */
    public static FakeQuantInput input(MultiLayerNetwork twin) {
        if (!(twin.getLayerWiseConfigurations().getInputPreProcess(0) instanceof FakeQuantInput in)) {
            throw new IllegalArgumentException("network: layer 0 has no FakeQuantInput; expected a QuantizedTwin");
        }
        return in;
    }

    /** Whether a saved network is a fake-quant twin. */
    public static boolean isTwin(MultiLayerNetwork network) {
        return network.getLayerWiseConfigurations().getInputPreProcess(0) instanceof FakeQuantInput;
    }

    /** The weight bit width of a twin. */
    public static int bits(MultiLayerNetwork twin) {
        for (int l = 0; l < twin.getnLayers(); l++) {
            if (twin.getLayer(l).conf().getLayer() instanceof BaseLayer b
                    && b.getWeightNoise() instanceof FakeQuantWeights w) {
                return w.bits();
            }
        }
        throw new IllegalArgumentException("network: no fake-quantized layer; expected a QuantizedTwin");
    }

    /**
     * The integer model of a calibrated twin: the same integers the twin's fake quantization produces, so its
     * integer-only inference reproduces the twin's outputs up to requantization rounding.
     *
     * @param inputs features per row
     */
    public static IntegerModel toIntegerModel(MultiLayerNetwork twin, int inputs) {
        FakeQuantInput in = input(twin);
        if (!in.enabled()) {
            throw new IllegalStateException("twin: not calibrated; expected calibrated ranges before export");
        }
        ActivationQuant current = in.quant();
        int[] image = null; // {channels, height, width} while the tensor is an image
        List<IntLayer> out = new ArrayList<>();
        OutputActivation outputActivation = null;
        int outputs = 0;
        int n = twin.getnLayers();
        for (int l = 0; l < n; l++) {
            Layer layer = twin.getLayerWiseConfigurations().getConf(l).getLayer();
            InputPreProcessor pre = twin.getLayerWiseConfigurations().getInputPreProcess(l);
            if (pre instanceof FakeQuantInput f) {
                pre = f.inner();
            }
            if (pre instanceof FeedForwardToCnnPreProcessor f) {
                image = new int[] {(int) f.getNumChannels(), (int) f.getInputHeight(), (int) f.getInputWidth()};
            } else if (pre instanceof CnnToFeedForwardPreProcessor) {
                image = null;
            } else if (pre != null) {
                throw new InputException("layer " + l + ": input preprocessor " + pre.getClass().getSimpleName()
                        + " has no integer equivalent; expected none, FeedForwardToCnn or CnnToFeedForward");
            }
            if (layer instanceof DropoutLayer) {
                continue;
            }
            if (layer instanceof SubsamplingLayer s) {
                int[] pads = pads(image, s.getKernelSize(), s.getStride(), s.getPadding(), s.getConvolutionMode());
                out.add(new IntMaxPool2d(image[0], image[1], image[2], pads[4], pads[5], s.getKernelSize()[0],
                        s.getKernelSize()[1], s.getStride()[0], s.getStride()[1], pads[0], pads[1], pads[2], pads[3]));
                image = new int[] {image[0], pads[4], pads[5]};
                continue;
            }
            boolean last = l == n - 1;
            FakeQuantWeights fq = (FakeQuantWeights) ((BaseLayer) layer).getWeightNoise();
            INDArray w = twin.getLayer(l).getParam(DefaultParamInitializer.WEIGHT_KEY);
            float[] scales = FakeQuantArrays.weightScales(w, fq.axis(), fq.bits());
            byte[] weights = integers(w, fq, scales);
            INDArray b = twin.getLayer(l).getParam(DefaultParamInitializer.BIAS_KEY);
            int[] bias = biasIntegers(b, current.scale(), scales);
            ActivationQuant output = null;
            HiddenActivation hidden = HiddenActivation.IDENTITY;
            if (last) {
                outputActivation = outputActivation(activation(layer));
            } else {
                FakeQuantActivation a = (FakeQuantActivation) activation(layer);
                output = a.quant();
                hidden = a.inner() instanceof ActivationReLU ? HiddenActivation.RELU : HiddenActivation.IDENTITY;
            }
            if (layer instanceof ConvolutionLayer c) {
                int[] k = c.getKernelSize();
                int[] pads = pads(image, k, c.getStride(), c.getPadding(), c.getConvolutionMode());
                int outChannels = (int) w.size(0);
                out.add(new IntConv2d(image[0], image[1], image[2], outChannels, pads[4], pads[5], k[0], k[1],
                        c.getStride()[0], c.getStride()[1], pads[0], pads[1], pads[2], pads[3], fq.bits(), weights,
                        scales, bias, current, output, hidden));
                image = new int[] {outChannels, pads[4], pads[5]};
                outputs = outChannels * pads[4] * pads[5];
            } else {
                out.add(new IntDense((int) w.size(0), (int) w.size(1), fq.bits(), weights, scales, bias, current,
                        output, hidden));
                outputs = (int) w.size(1);
            }
            if (output != null) {
                current = output;
            }
        }
        return new IntegerModel(inputs, in.quant(), out, outputActivation, outputs);
    }

    /** Integer weights, output channel first: {@code [nOut][nIn]} for dense, {@code [out][in][kH][kW]} for conv. */
    private static byte[] integers(INDArray w, FakeQuantWeights fq, float[] scales) {
        INDArray q = FakeQuantArrays.weightIntegers(w, fq.axis(), fq.bits(), scales);
        if (fq.axis() == ChannelAxis.DENSE) {
            q = q.transpose();
        }
        float[] values = q.dup('c').castTo(DataType.FLOAT).data().asFloat();
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) Math.round(values[i]);
        }
        return out;
    }

    /** {@code rint(b / (inputScale · weightScale))} in float32, as {@link FakeQuantArrays#bias} rounds. */
    private static int[] biasIntegers(INDArray b, float inputScale, float[] scales) {
        int[] out = new int[scales.length];
        if (b == null) {
            return out; // a layer without bias adds 0
        }
        float[] values = b.castTo(DataType.FLOAT).dup('c').data().asFloat();
        for (int c = 0; c < scales.length; c++) {
            float q = values[c] / FakeQuantArrays.biasScale(inputScale, scales[c]);
            out[c] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, Math.rint(q)));
        }
        return out;
    }

    /**
     * {top, left, bottom, right, outHeight, outWidth} of a window over {@code image}, as DL4J computes them: Same mode
     * pads {@code (out − 1) · stride + kernel − in} in total, the smaller half at top/left.
     */
    static int[] pads(int[] image, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode) {
        if (image == null) {
            throw new InputException("convolution or pooling layer over a flat input; expected an image input");
        }
        int[] result = new int[6];
        for (int d = 0; d < 2; d++) {
            int in = image[1 + d];
            int out;
            int before;
            int after;
            if (mode == ConvolutionMode.Same) {
                out = (in + stride[d] - 1) / stride[d];
                int total = Math.max(0, (out - 1) * stride[d] + kernel[d] - in);
                before = total / 2;
                after = total - before;
            } else {
                out = (in + 2 * padding[d] - kernel[d]) / stride[d] + 1;
                before = padding[d];
                after = Math.max(0, (out - 1) * stride[d] + kernel[d] - in - before);
            }
            result[d] = before;
            result[2 + d] = after;
            result[4 + d] = out;
        }
        return result;
    }

    private static void checkSupported(Layer layer, boolean last, String where) {
        Class<?> type = layer.getClass();
        if (last) {
            if (type != OutputLayer.class) {
                throw new InputException(where + ": Candor cannot quantize this output layer type; expected a"
                        + " dense OutputLayer");
            }
            outputActivation(activation(layer), where);
            return;
        }
        if (type == DenseLayer.class) {
            if (((DenseLayer) layer).isHasLayerNorm()) {
                throw new InputException(where + ": layer normalisation cannot be quantized; expected a plain dense"
                        + " layer");
            }
            requireHidden(activation(layer), where);
        } else if (type == ConvolutionLayer.class) {
            ConvolutionLayer c = (ConvolutionLayer) layer;
            requireImageLayer(c.getDilation(), c.getCnn2dDataFormat(), where);
            requireHidden(activation(layer), where);
        } else if (type == SubsamplingLayer.class) {
            SubsamplingLayer s = (SubsamplingLayer) layer;
            if (s.getPoolingType() != PoolingType.MAX) {
                throw new InputException(where + ": " + s.getPoolingType() + " pooling cannot be quantized;"
                        + " expected MAX pooling");
            }
            requireImageLayer(s.getDilation(), s.getCnn2dDataFormat(), where);
        } else if (type != DropoutLayer.class) {
            throw new InputException(where + ": Candor cannot quantize this layer type; expected DenseLayer,"
                    + " ConvolutionLayer (2-D), SubsamplingLayer (max), BatchNormalization, ActivationLayer,"
                    + " DropoutLayer or a final OutputLayer");
        }
    }

    private static void requireImageLayer(int[] dilation, CNN2DFormat format, String where) {
        if (dilation[0] != 1 || dilation[1] != 1 || format != CNN2DFormat.NCHW) {
            throw new InputException(where + ": dilation " + java.util.Arrays.toString(dilation) + ", format "
                    + format + "; expected dilation [1, 1] and NCHW");
        }
    }

    /** Whether a hidden layer's activation fuses into integer requantization: plain ReLU or identity. */
    public static boolean fusesIntoRequantization(IActivation fn) {
        boolean relu = fn instanceof ActivationReLU r && r.getMax() == null && r.getThreshold() == null
                && r.getNegativeSlope() == null;
        return relu || fn instanceof ActivationIdentity;
    }

    private static void requireHidden(IActivation fn, String where) {
        if (!fusesIntoRequantization(fn)) {
            throw new InputException(where + ": activation " + fn + " cannot be fused into integer requantization;"
                    + " expected RELU or IDENTITY");
        }
    }

    private static OutputActivation outputActivation(IActivation fn) {
        return outputActivation(fn, "output layer");
    }

    private static OutputActivation outputActivation(IActivation fn, String where) {
        if (fn instanceof ActivationSoftmax) {
            return OutputActivation.SOFTMAX;
        }
        if (fn instanceof ActivationSigmoid) {
            return OutputActivation.SIGMOID;
        }
        if (fn instanceof ActivationIdentity) {
            return OutputActivation.IDENTITY;
        }
        throw new InputException(where + ": output activation " + fn + " is not supported; expected SOFTMAX,"
                + " SIGMOID or IDENTITY");
    }

    private static boolean isWeighted(Layer layer) {
        return layer instanceof DenseLayer || layer instanceof OutputLayer || layer instanceof ConvolutionLayer;
    }

    private static ChannelAxis axisOf(Layer layer) {
        return layer instanceof ConvolutionLayer ? ChannelAxis.CONV2D : ChannelAxis.DENSE;
    }

    private static IActivation activation(Layer layer) {
        return layer instanceof BaseLayer b ? b.getActivationFn() : null;
    }

    private static void setHasBias(Layer layer) {
        if (layer instanceof ConvolutionLayer c) {
            c.setHasBias(true);
        } else if (layer instanceof DenseLayer d) {
            d.setHasBias(true);
        }
    }
}
