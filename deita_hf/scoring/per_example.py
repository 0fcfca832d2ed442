"""Exact per-example gradients of linear layers from ONE batched forward and backward pass.

For a linear layer ``y = W x (+ b)`` and a loss that is a sum of per-example losses
``L = Σ_i L_i`` (each ``L_i`` depends on example ``i`` only, as in a causal LM over a padded
batch), the gradient of example ``i`` is ``∇_W L_i = Σ_t g_it x_it^T`` (``∇_b L_i = Σ_t g_it``),
where ``x_it`` is the layer's input at token ``t`` and ``g_it = ∂L/∂y_it`` its output gradient
there. :class:`LinearCapture` records ``x`` in a forward hook and ``g`` in a hook on the
output tensor, so one backward pass of ``Σ_i L_i`` gives every example's gradient
(:meth:`LinearCapture.weight_grads`: one ``einsum`` per layer) or, without forming it, its
squared Frobenius norm ``‖Σ_t g_t x_t^T‖² = Σ_{t,s} (g_t·g_s)(x_t·x_s)``
(:meth:`LinearCapture.sq_norms`; Goodfellow 2015, "ghost norms" in Li et al. 2022). Padded
positions have ``g = 0`` and drop out. The backward pass is taken to the input embeddings
(:func:`backward_to_embeddings`), so no summed parameter gradient is formed.

Example:
    >>> import torch
    >>> from deita_hf.scoring.per_example import LinearCapture
    >>> layer = torch.nn.Linear(3, 2, bias=False)
    >>> x = torch.randn(2, 4, 3, requires_grad=True)  # 2 examples, 4 tokens
    >>> with LinearCapture({"layer": layer}) as cap:
    ...     y = layer(x)
    ...     _ = torch.autograd.grad((y ** 2).sum(), x)
    >>> g = cap.weight_grads("layer")[0]
    >>> direct = torch.autograd.grad((layer(x[1]) ** 2).sum(), layer.weight)[0]
    >>> bool(torch.allclose(g[1], direct, atol=1e-5))
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from deita_hf.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["LinearCapture", "backward_to_embeddings", "el2n_per_token", "response_losses"]


class LinearCapture:
    """Record the inputs and output gradients of linear layers for per-example gradients.

    Args:
        modules: name -> ``torch.nn.Linear``; inputs must be ``(batch, tokens, features)``.

    Use as a context manager around one forward and one backward pass; then read
    :meth:`weight_grads` or :meth:`sq_norms`. A layer called several times in the pass (shared
    weights) has its calls joined along the token axis, which gives the summed gradient.
    """

    def __init__(self, modules: Mapping[str, Any]) -> None:
        import torch

        for name, module in modules.items():
            if not isinstance(module, torch.nn.Linear):
                raise ConfigError(f"Per-example gradients are computed for linear layers only; "
                                  f"{name!r} is a {type(module).__name__}.")
        self.modules = dict(modules)
        self._inputs: dict[str, list[Any]] = {}
        self._grads: dict[str, list[Any]] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> LinearCapture:
        for name, module in self.modules.items():
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name: str) -> Any:
        def forward(module: Any, inputs: tuple, output: Any) -> None:
            x = inputs[0]
            if x.dim() != 3:
                raise ConfigError(f"Layer {name!r} got an input of shape {tuple(x.shape)}; "
                                  f"per-example gradients need (batch, tokens, features).")
            if not output.requires_grad:
                return
            self._inputs.setdefault(name, []).append(x.detach())
            slot = len(self._inputs[name]) - 1
            grads = self._grads.setdefault(name, [])

            def backward(g: Any) -> None:
                while len(grads) <= slot:
                    grads.append(None)
                grads[slot] = g.detach()

            output.register_hook(backward)

        return forward

    def _pairs(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        xs, gs = self._inputs.get(name, []), self._grads.get(name, [])
        if not xs or len(gs) != len(xs) or any(g is None for g in gs):
            raise ConfigError(f"No gradient reached layer {name!r}: run the forward and the "
                              f"backward pass inside the capture (and make the layer take part "
                              f"in the loss).")
        return torch.cat(xs, dim=1).float(), torch.cat(gs, dim=1).float()

    def weight_grads(self, name: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-example gradients of layer ``name``: ``(batch, out, in)`` for the weight and
        ``(batch, out)`` for the bias (None without one), in float32."""
        import torch

        x, g = self._pairs(name)
        weight = torch.einsum("bto,bti->boi", g, x)
        bias = g.sum(dim=1) if self.modules[name].bias is not None else None
        return weight, bias

    def sq_norms(self) -> torch.Tensor:
        """Per-example squared norm of the gradient of every captured layer (weights and biases
        together), from Gram matrices of the tokens, never forming the gradients: ``(batch,)``
        float32."""
        total = None
        for name, module in self.modules.items():
            x, g = self._pairs(name)
            gram_x = x @ x.transpose(1, 2)
            gram_g = g @ g.transpose(1, 2)
            sq = (gram_x * gram_g).sum(dim=(1, 2))
            if module.bias is not None:
                sq = sq + gram_g.sum(dim=(1, 2))
            total = sq if total is None else total + sq
        if total is None:
            raise ConfigError("No layers were captured.")
        return total


def response_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss over each example's response positions (labels != -100):
    ``(batch,)`` float32 (``model(**batch).loss`` of each example alone)."""
    import torch

    shift_logits, shift_labels = logits[:, :-1].float(), labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(shift_logits.transpose(1, 2), shift_labels,
                                            ignore_index=-100, reduction="none")
    counts = (shift_labels != -100).sum(dim=1)
    return nll.sum(dim=1) / counts.clamp(min=1)


def el2n_per_token(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """EL2N of each example: the mean over its response positions of
    ``‖softmax(logits_t) − onehot(y_t)‖₂`` (``(batch,)`` float32)."""
    import torch

    shift_logits, shift_labels = logits[:, :-1].float(), labels[:, 1:]
    probs = torch.softmax(shift_logits, dim=-1)
    valid = shift_labels != -100
    target = shift_labels.clamp(min=0).unsqueeze(-1)
    sq = (probs * probs).sum(-1) - 2 * probs.gather(-1, target).squeeze(-1) + 1
    err = sq.clamp(min=0).sqrt() * valid
    return err.sum(dim=1) / valid.sum(dim=1).clamp(min=1)


def backward_to_embeddings(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                           labels: torch.Tensor) -> torch.Tensor:
    """One forward pass from the input embeddings and one backward pass of the summed
    per-example response losses down to them (firing every capture hook on the way).

    Returns:
        The per-example losses ``(batch,)`` (detached).
    """
    import torch

    embeds = model.get_input_embeddings()(input_ids).detach().requires_grad_(True)
    logits = model(inputs_embeds=embeds, attention_mask=attention_mask, use_cache=False).logits
    losses = response_losses(logits, labels)
    torch.autograd.grad(losses.sum(), embeds)
    return losses.detach()
