"""`ch search`: multi-objective Optuna search of per-layer fixed-point formats."""
