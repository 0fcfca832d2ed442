"""Reading data: conversation formats, preference formats and loading pools.

- :mod:`~deita_hf.data.formats`: detect a conversation format, rows to turns/messages.
- :mod:`~deita_hf.data.preference`: preference (DPO) formats to TRL prompt/chosen/rejected.
- :mod:`~deita_hf.data.loading`: :func:`load_pool` from files, folders and the Hub.
- :mod:`~deita_hf.data.provenance`: what computed a dataset's columns, carried in ``ds.info``.

Example:
    >>> from deita_hf.data import to_turns
    >>> to_turns({"instruction": "Hi", "output": "Hello"})
    [('Hi', 'Hello')]
"""

from deita_hf.data.formats import FormatError, detect_format, to_messages, to_turns
from deita_hf.data.loading import load_pool
from deita_hf.data.provenance import column_provenance, with_provenance

__all__ = ["FormatError", "column_provenance", "detect_format", "load_pool", "to_messages",
           "to_turns", "with_provenance"]
