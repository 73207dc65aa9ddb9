package io.candor.quant.intmodel;

/** Activations an integer layer applies before requantization; both fuse into the uint8 clamp. */
public enum HiddenActivation { RELU, IDENTITY }
