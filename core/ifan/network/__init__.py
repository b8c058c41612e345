"""The iFAN network: backbones with taps, re-encoders, the task integrator, task batch norm."""
