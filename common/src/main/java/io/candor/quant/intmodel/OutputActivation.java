package io.candor.quant.intmodel;

/** Applied in floating point to the last layer's dequantized outputs (the logits). */
public enum OutputActivation { SOFTMAX, SIGMOID, IDENTITY }
