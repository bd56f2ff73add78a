"""Training: the silent loop, callbacks, checkpoints and the run directory."""
