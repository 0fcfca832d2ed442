"""Perplexity and instruction-following difficulty (IFD): per-turn measures from a causal LM.

Both use the prompts and token layouts of :mod:`deita_hf.scoring.lm_loss`. With ``L(r | c)``
the mean token loss of the response given the context and ``L(r)`` that of the response alone:

- ``perplexity = exp(L(r | c))`` (:class:`PerplexityScorer`, column ``perplexity``; deita_hf's
  ``"separate"`` layout and Alpaca prompt by default);
- ``ifd = L(r | c) / L(r)`` (:class:`IFDScorer`, column ``ifd``): Cherry LLM's
  instruction-following difficulty (Li et al., 2023, *From Quantity to Quality*) as
  ``cherry_seletion/data_analysis.py`` and ``data_by_IFD.py`` compute it
  (github.com/tianyi-lab/Cherry_LLM, commit 01fac8d2febb51dbd1501ec594a20e499b51fe7d): Cherry's
  two Alpaca prompts, the answer alone scored after ``"### Response:"``, its token boundary rule
  and ``max_length`` 512 (layout ``"cherry"``).
- Superfiltering (Li et al., 2024; github.com/tianyi-lab/Superfiltering, commit
  f0764afa536ec910b994d1d6aa2b883354505f4f, ``code_ifd/``): ``ifd = exp(L(r | c)) / exp(L(r))``,
  the ratio of perplexities (``ifd_ppl``), from GPT-2, with the prompt ``"{instruction}\n"``
  (``"{instruction}\n{input}\n"``), the answer alone tokenized without a start token (its first
  token never scored) and ``max_length`` 1024: ``IFDScorer.superfilter()`` or the spec
  ``superfilter``. ``layout="separate"`` keeps deita_hf's earlier layout as an option.

Cherry drops samples with IFD > 1 (the instruction does not help to predict the response) and
keeps the highest IFD. A scorer cannot drop rows: use :func:`ifd_filter` (a ``ds.filter``), then
rank by a row value, e.g. ``ds.map(lambda r: {"ifd_row": max(r["ifd"])}).sort("ifd_row", reverse=True)``.

Example:
    >>> from deita_hf.scoring import IFDScorer, PerplexityScorer
    >>> IFDScorer("path/to/model").describe()["column"]  # lazy: nothing loads
    'ifd'
    >>> IFDScorer.superfilter().model_name_or_path
    'gpt2'
    >>> ppl = PerplexityScorer("path/to/model", prompt="plain")
    >>> ds = ds.map(ppl, batched=True, with_indices=True)  # doctest: +SKIP
    >>> ds[0]["perplexity"]  # one float per turn  # doctest: +SKIP
    [7.41]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from deita_hf.scoring.lm_loss import PROMPTS, ResponseLossScorer

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["PROMPTS", "SUPERFILTER_MODEL", "IFDScorer", "PerplexityScorer", "ifd_filter"]

#: the model of Superfiltering's paper (a Hub id: offline, pass a local copy instead)
SUPERFILTER_MODEL = "gpt2"


class PerplexityScorer(ResponseLossScorer):
    """Perplexity of each turn's response given its instruction; adds column ``perplexity``.

    Args: see :class:`~deita_hf.scoring.lm_loss.ResponseLossScorer` (``model_name_or_path``,
    ``prompt``, ``revision``, ``batch_size``, ``max_length``, ``device``, ``dtype``,
    ``on_error``, ``trust_remote_code``).

    Returns (per call): ``{"perplexity": [[exp(mean response-token loss) per turn], ...]}``.

    Example:
        >>> PerplexityScorer("m").describe()["kind"]
        'perplexity'
    """

    column = "perplexity"
    kind = "perplexity"
    load_hint = " (`--scorer perplexity:DIR`)"

    def value(self, conditioned: float, alone: float) -> float:
        return math.exp(conditioned) if math.isfinite(conditioned) else math.nan


class IFDScorer(ResponseLossScorer):
    """Cherry's instruction-following difficulty per turn; adds column ``ifd``.

    ``ifd = L(response | instruction) / L(response)`` (mean token losses; two sequences per
    turn; layout ``"cherry"``, prompt ``"alpaca"``). The Superfiltering variant:
    ``exp(L(response | instruction)) / exp(L(response))`` (layout ``"superfilter"``, prompt
    ``"plain"``, model GPT-2). NaN when a loss is NaN or the denominator is 0.

    Args: ``superfilter``: the Superfiltering variant (its layout, prompt, perplexity ratio and
    default model GPT-2; an explicit ``prompt`` / ``layout`` replaces its own); the others: see
    :class:`~deita_hf.scoring.lm_loss.ResponseLossScorer`.

    Example:
        >>> s = IFDScorer("m", batch_size=4)
        >>> s.describe()["kind"], s.describe()["column"]
        ('ifd', 'ifd')
    """

    column = "ifd"
    kind = "ifd"
    needs_alone = True
    default_layout = "cherry"
    load_hint = (" (`--scorer ifd:DIR`, or `--scorer superfilter:DIR` for a local copy of gpt2: "
                 "`hf download gpt2 --local-dir DIR` where there is network)")

    def __init__(self, model_name_or_path: str | None = None, *, superfilter: bool = False,
                 **kwargs: Any) -> None:
        self.variant = "superfilter" if superfilter else "cherry"
        if superfilter:
            kwargs = {"prompt": "plain", **kwargs}
            kwargs["layout"] = kwargs.get("layout") or "superfilter"
        super().__init__(model_name_or_path or (SUPERFILTER_MODEL if superfilter else None), **kwargs)

    @classmethod
    def superfilter(cls, model_name_or_path: str | None = None, **kwargs: Any) -> IFDScorer:
        """Superfiltering: IFD from a small model (default ``"gpt2"``; pass a local copy offline).

        Example:
            >>> IFDScorer.superfilter("/models/gpt2").describe()["variant"]
            'superfilter'
        """
        return cls(model_name_or_path, superfilter=True, **kwargs)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "variant": self.variant}

    def value(self, conditioned: float, alone: float) -> float:
        if not (math.isfinite(conditioned) and math.isfinite(alone)):
            return math.nan
        if self.variant == "superfilter":  # Superfiltering's ifd_ppl: ppl_A_condition / ppl_A_direct
            return math.exp(conditioned) / math.exp(alone)
        return conditioned / alone if alone != 0 else math.nan


def ifd_filter(ds: Dataset, column: str = "ifd", *, max_value: float = 1.0,
               **filter_kwargs: Any) -> Dataset:
    """Drop the rows Cherry drops: any turn with IFD > ``max_value`` (1: the instruction does
    not help) or NaN.

    Args:
        ds: a ``datasets.Dataset`` with the IFD column (a float or a list per row).
        column: the IFD column.
        max_value: the highest IFD kept.
        **filter_kwargs: passed to ``Dataset.filter`` (``num_proc``, ``desc``, ...).

    Returns:
        The filtered dataset (a ``ds.filter`` result).

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"ifd": [[0.5], [1.2], [0.9, 0.8], [float("nan")]]})
        >>> ifd_filter(ds)["ifd"][:]
        [[0.5], [0.9, 0.8]]
    """
    def keep(value: float | list[float] | None) -> bool:
        values = value if isinstance(value, list) else [value]
        return bool(values) and all(v is not None and math.isfinite(v) and v <= max_value for v in values)

    return ds.filter(keep, input_columns=column, **filter_kwargs)
