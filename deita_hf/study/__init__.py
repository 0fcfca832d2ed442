"""Controlled data-selection studies in one command (``deita-hf study STUDY.yaml``).

One YAML (:class:`StudyConfig`; its keys are the dataclass fields) names a pool, a budget, the
arms (a selection strategy and its scorers each), one SFT recipe and one evaluation. Every arm
is selected with the code of ``deita-hf select``, trained with the recipe and evaluated with
:mod:`deita_hf.evaluation`; finished stages are kept when the study runs again. The end is a
comparison (``results.md``, ``results.json``, ``results.png``) and a study card (``README.md``).

Example:
    >>> from deita_hf.study import StudyConfig, study_from_dict
    >>> StudyConfig.__dataclass_fields__["budget"].metadata["help"]
    'rows each arm selects (deita-hf select --budget)'
"""

from deita_hf.study.config import (
    ArmConfig,
    EvaluationConfig,
    SFTConfig,
    StudyConfig,
    load_study,
    study_from_dict,
)
from deita_hf.study.runner import plan_study, run_study

__all__ = ["ArmConfig", "EvaluationConfig", "SFTConfig", "StudyConfig", "load_study",
           "plan_study", "run_study", "study_from_dict"]
