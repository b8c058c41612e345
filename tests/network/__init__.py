"""The network (ifan.network): backbones, taps, decoders, re-encoders, the integrator, task batch
norm, input normalisation and the model summary."""
