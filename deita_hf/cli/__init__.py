"""The ``deita-hf`` command line (see :mod:`deita_hf.cli.main`)."""
