"""``evaluate`` modules shipped with deita_hf: load them by path with
``evaluate.load(deita_hf.evaluation.metric_path(NAME))`` (offline; see each ``NAME/NAME.py``)."""
