"""A seeded Rademacher random projection, generated in row blocks so it never has to be held.

LESS projects gradients with TRAK's Rademacher projector; this is the same kind of map in
plain torch: ``R ∈ {−1, +1}^{P×k} / √k`` (a Johnson-Lindenstrauss map: inner products and
norms are preserved in expectation). ``R`` is defined row block by row block: block ``b``
(rows ``b·4096 … b·4096+4095``, row-major) takes its signs from the bits (bit 0 first) of the
bytes of 32-bit words drawn by a ``torch.Generator`` seeded from ``(seed, b)`` through
``numpy.random.SeedSequence`` (a set bit is +1), so it is the same matrix in every process,
and any rows can be regenerated without the others. The blocks are drawn by a generator on
the CPU, or on CUDA when the products run there (:func:`generator_for`: drawing a large matrix
on the CPU would dominate a GPU run). The two give different matrices, so the generator is
part of the projection's name (:func:`projection_name`) and features made with one are not
comparable with the other's. When ``P·k`` float32 values fit in ``max_cache_bytes`` the
matrix is kept on the device; otherwise each block is regenerated when used, so project large
batches at once.

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

__all__ = ["BLOCK_ROWS", "PROJECTION", "RademacherProjector", "generator_for", "projection_name"]

#: rows per generated block (part of the matrix's definition: changing it changes R)
BLOCK_ROWS = 4096
#: the definition's name (bump it if the definition ever changes)
PROJECTION = "rademacher-v1"


def _sign_table(device: Any) -> torch.Tensor:
    """Row ``v``: the signs (+1 for a set bit) of bits 0..7 of byte value ``v``."""
    import torch

    bits = (torch.arange(256).unsqueeze(1) >> torch.arange(8)) & 1
    return (bits * 2 - 1).to(device=device, dtype=torch.float32)


def generator_for(device: Any) -> str:
    """Where the blocks are drawn for products on ``device``: ``"cuda"`` or ``"cpu"``.

    Example:
        >>> generator_for("cpu"), generator_for("cuda:1")
        ('cpu', 'cuda')
    """
    return "cuda" if str(device).startswith("cuda") else "cpu"


def projection_name(device: Any) -> str:
    """The projection's recorded name for products on ``device`` (definition + generator).

    Example:
        >>> projection_name("cpu")
        'rademacher-v1-cpu'
    """
    return f"{PROJECTION}-{generator_for(device)}"


class RademacherProjector:
    """``x ↦ x R`` for a seeded ``P × k`` Rademacher matrix ``R`` (entries ``±1/√k``).

    Args:
        n_params: ``P``, the length of the vectors projected.
        dim: ``k``, the projected dimension.
        seed: the matrix's seed.
        device: where the products run (on CUDA the matrix is also drawn there).
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
        self.generator = generator_for(self.device)
        self._full = None
        if self.n_params * self.dim * 4 <= max_cache_bytes:
            self._full = self._rows(0, self.n_params)

    def _block(self, b: int) -> torch.Tensor:
        import numpy as np
        import torch

        state = int(np.random.SeedSequence([self.seed, b]).generate_state(1, dtype=np.uint64)[0])
        where = self.device if self.generator == "cuda" else "cpu"
        gen = torch.Generator(device=where).manual_seed(state % (2**63))
        rows = min(BLOCK_ROWS, self.n_params - b * BLOCK_ROWS)
        n = rows * self.dim
        # 32 random bits per draw: the signs are the bits of the words' bytes, in order
        words = torch.randint(0, 2**32, ((n + 31) // 32,), generator=gen, dtype=torch.int64,
                              device=where)
        octets = (words - 2**31).to(torch.int32).view(torch.uint8).long()
        table = _sign_table(where) / (self.dim ** 0.5)
        return table[octets].reshape(-1)[:n].view(rows, self.dim)

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
