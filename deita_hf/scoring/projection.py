"""A seeded Rademacher random projection, generated in row blocks so it never has to be held.

LESS projects gradients with TRAK's Rademacher projector; this is the same kind of map in
plain torch: ``R ∈ {−1, +1}^{P×k} / √k`` (a Johnson-Lindenstrauss map: inner products and
norms are preserved in expectation). ``R`` is defined row block by row block: block ``b``
(rows ``b·4096 … b·4096+4095``) is drawn on the CPU by a ``torch.Generator`` seeded from
``(seed, b)`` through ``numpy.random.SeedSequence``, so it is the same matrix on every device
and in every process, and any rows can be regenerated without the others. When ``P·k``
float32 values fit in ``max_cache_bytes`` the matrix is kept on the device; otherwise each
block is regenerated when used, so project large batches at once.

Example:
    >>> import torch
    >>> proj = RademacherProjector(10, 4, seed=0)
    >>> x = torch.randn(3, 10)
    >>> bool(torch.allclose(proj.project(x), x @ proj.matrix(), atol=1e-6))
    True
    >>> bool(torch.equal(proj.matrix(), RademacherProjector(10, 4, seed=0).matrix()))
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["BLOCK_ROWS", "PROJECTION", "RademacherProjector"]

#: rows per generated block (part of the matrix's definition: changing it changes R)
BLOCK_ROWS = 4096
#: the name recorded in settings (bump it if the definition ever changes)
PROJECTION = "rademacher-v1"


class RademacherProjector:
    """``x ↦ x R`` for a seeded ``P × k`` Rademacher matrix ``R`` (entries ``±1/√k``).

    Args:
        n_params: ``P``, the length of the vectors projected.
        dim: ``k``, the projected dimension.
        seed: the matrix's seed.
        device: where the products run (the matrix is drawn on the CPU, then moved).
        max_cache_bytes: keep the whole matrix on ``device`` when it fits in this many bytes.
    """

    def __init__(self, n_params: int, dim: int, seed: int = 0, *, device: Any = "cpu",
                 max_cache_bytes: int = 2 * 1024**3) -> None:
        import torch

        if n_params < 1 or dim < 1:
            raise ConfigError(f"The projection needs n_params >= 1 and dim >= 1, got {n_params} "
                              f"and {dim}.")
        self.n_params, self.dim, self.seed = int(n_params), int(dim), int(seed)
        self.device = torch.device(device)
        self._full = None
        if self.n_params * self.dim * 4 <= max_cache_bytes:
            self._full = self._rows(0, self.n_params)

    def _block(self, b: int) -> torch.Tensor:
        import numpy as np
        import torch

        state = int(np.random.SeedSequence([self.seed, b]).generate_state(1, dtype=np.uint64)[0])
        gen = torch.Generator(device="cpu").manual_seed(state % (2**63))
        rows = min(BLOCK_ROWS, self.n_params - b * BLOCK_ROWS)
        signs = torch.randint(0, 2, (rows, self.dim), generator=gen, dtype=torch.int8)
        return (signs.to(torch.float32) * 2 - 1) / (self.dim ** 0.5)

    def _rows(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` of ``R`` on the device."""
        import torch

        if self._full is not None:
            return self._full[start:stop]
        parts = []
        for b in range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1):
            lo = b * BLOCK_ROWS
            block = self._block(b)
            parts.append(block[max(start - lo, 0): stop - lo])
        return torch.cat(parts).to(self.device)

    def matrix(self) -> torch.Tensor:
        """The whole ``P × k`` matrix (for tests and small ``P``)."""
        return self._rows(0, self.n_params)

    def project(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``x @ R[start:start + x.shape[1]]``: a slice of the vector's coordinates projected
        (sum the slices' results for the whole vector).

        Args:
            x: ``(batch, n)`` float32 on the device.
            start: the coordinate of ``x[:, 0]`` in the full vector.

        Returns:
            ``(batch, dim)``.
        """
        stop = start + x.shape[1]
        if start < 0 or stop > self.n_params:
            raise ConfigError(f"Coordinates {start}:{stop} are outside the projection's "
                              f"{self.n_params}.")
        if self._full is not None:
            return x @ self._full[start:stop]
        out = None
        pos = start
        while pos < stop:  # one generated block at a time
            end = min(stop, (pos // BLOCK_ROWS + 1) * BLOCK_ROWS)
            part = x[:, pos - start:end - start] @ self._rows(pos, end)
            out = part if out is None else out + part
            pos = end
        return out
