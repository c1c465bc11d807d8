"""Quantized transformer modules that compute exactly what golden/attention.py computes, and the
float structure they replace in BERT / RoBERTa.

Float modules (what :func:`prepare_transformer` puts into a Hugging Face BERT or RoBERTa model, and
what ``to_float()`` of the quantized ones returns):

* :class:`MatMul`: ``torch.matmul(a, b) * scale`` with a ``role`` (``scores``: ``Q K^T /
  sqrt(d)``, the scale from ``golden.attention.score_scale``; ``context``: ``P V``);
* :class:`Softmax`: a softmax over the last axis with an optional attention mask;
* :class:`LayerNorm`: ``nn.LayerNorm`` marked for quantization (only the layer norms of the
  converted encoders are quantized; other models' stay float);
* :class:`SelfAttention`: BERT's self-attention written with those modules: ``query`` / ``key`` /
  ``value`` linears, ``scores``, ``softmax``, ``context``, the heads split and merged by views.

Quantized modules (``quant.transform.quantize_model`` swaps them in, formats per layer like any
other layer: types ``scores``, ``context``, ``softmax``, ``layernorm``):

* :class:`QuantMatMul`: ``golden.attention.matmul``; formats ``data_in`` (first operand),
  ``weight`` (second operand), ``data_out``;
* :class:`QuantSoftmax`: ``golden.attention.softmax`` (positions the mask removes get 0);
* :class:`QuantLayerNorm`: ``golden.attention.layernorm``; ``weight`` is gamma's format, ``bias``
  beta's.

Each takes float tensors holding fixed-point values, quantizes its inputs to its formats (round
half up, saturate), does the integer arithmetic in torch int64 and returns the exact output value;
gradients pass straight through the float function on the quantized inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from golden.attention import (
    exp_table,
    layernorm_eps,
    layernorm_fracs,
    matmul_acc_bits,
    matmul_acc_frac,
    score_scale,
    softmax_fracs,
)
from golden.fixed import FixedType
from quant import torch_fixed as tf
from quant.config import LayerFormats

#: Roles of a matmul of two activations (its layer type in a ``[quantize]`` table).
MATMUL_ROLES = ("scores", "context")

#: An 8-bit ``[quantize]`` table for BERT / RoBERTa (the bert-tiny flow's): linears s8.4 in and
#: out with s8.6 weights; scores s10.4 (Q . K^T / sqrt(d) of s8.4 values); probabilities u9.8 (1.0
#: included); layer norms take the exact residual sum (s9.4) as s10.4, gamma and beta s8.6.
BERT_8BIT = {
    "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
    "by_type": {
        "scores": {"data_in": [8, 4], "weight": [8, 4], "data_out": [10, 4]},
        "softmax": {"data_in": [10, 4], "data_out": [9, 8, "unsigned"]},
        "context": {"data_in": [9, 8, "unsigned"], "weight": [8, 4], "data_out": [8, 4]},
        "layernorm": {"data_in": [10, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
    },
}


def _quant_ste(x: torch.Tensor, t: FixedType) -> tuple[torch.Tensor, torch.Tensor]:
    q = tf.float_to_fixed(x, t)
    return q, tf.ste(tf.fixed_to_float(q, t), x)


def attention_keep(mask: torch.Tensor | None, shape: torch.Size) -> torch.Tensor | None:
    """A Hugging Face attention mask as booleans (True: the position takes part), broadcast to the
    scores' ``shape``; None when every position takes part. Boolean masks are kept as they are,
    additive float masks (0 or a large negative number) become ``mask > -1``."""
    if mask is None:
        return None
    keep = mask if mask.dtype == torch.bool else mask > -1.0
    return keep.expand(shape)


# ---- float structure ------------------------------------------------------------------------------


class MatMul(nn.Module):
    """``torch.matmul(a, b) * scale``: a product of two activations.

    Attributes:
        role: ``scores`` or ``context`` (its layer type for the quantization pass).
        scale, scale_frac: the integer scale and its fraction bits (``scale * 2**-scale_frac`` is
            the float factor; 1 and 0 for ``context``).
    """

    def __init__(self, role: str, scale: int = 1, scale_frac: int = 0) -> None:
        super().__init__()
        if role not in MATMUL_ROLES:
            raise ValueError(f"MatMul role must be one of {MATMUL_ROLES}, got {role!r}")
        self.role, self.scale, self.scale_frac = role, int(scale), int(scale_frac)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        y = torch.matmul(a, b)
        return y if self.scale == 1 and self.scale_frac == 0 else y * (self.scale * 2.0**-self.scale_frac)

    def extra_repr(self) -> str:
        return f"{self.role}, scale={self.scale}*2**-{self.scale_frac}"


class Softmax(nn.Module):
    """Softmax over the last axis; masked positions (``attention_keep``) get probability 0.

    Attributes:
        max_len: the longest row the model will see (sets the quantized softmax's precision).
    """

    def __init__(self, max_len: int) -> None:
        super().__init__()
        self.max_len = int(max_len)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        keep = attention_keep(mask, x.shape)
        if keep is not None:
            x = x.masked_fill(~keep, float("-inf"))
        return F.softmax(x, dim=-1)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}"


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` of a converted encoder: the quantization pass makes it a QuantLayerNorm."""


class SelfAttention(nn.Module):
    """Multi-head self-attention of BERT / RoBERTa with its operations as modules.

    ``forward(hidden_states, attention_mask=None, **kwargs) -> (context, None)`` matches the
    Hugging Face module it replaces (transformers 5 ``BertSelfAttention``), without a key / value
    cache. Tensors: ``q = query(x).view(B, S, H, D).transpose(1, 2)`` (and ``k``, ``v``),
    ``scores(q, k.transpose(-1, -2))``, ``softmax(., mask)``, ``context(., v)``, then the heads
    merged back: ``.transpose(1, 2).reshape(B, S, H * D)``.
    """

    def __init__(self, query: nn.Module, key: nn.Module, value: nn.Module, heads: int, head_dim: int, max_len: int):
        super().__init__()
        self.heads, self.head_dim = int(heads), int(head_dim)
        self.query, self.key, self.value = query, key, value
        scale, frac = score_scale(head_dim)
        self.scores = MatMul("scores", scale, frac)
        self.softmax = Softmax(max_len)
        self.context = MatMul("context")

    @classmethod
    def from_hf(cls, module: nn.Module, max_len: int) -> SelfAttention:
        """From a transformers ``BertSelfAttention`` / ``RobertaSelfAttention`` (same linears)."""
        return cls(
            module.query, module.key, module.value, module.num_attention_heads, module.attention_head_size, max_len
        )

    def forward(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs: object
    ) -> tuple[torch.Tensor, None]:
        b, s, _ = hidden_states.shape
        shape = (b, s, self.heads, self.head_dim)
        q = self.query(hidden_states).view(shape).transpose(1, 2)
        k = self.key(hidden_states).view(shape).transpose(1, 2)
        v = self.value(hidden_states).view(shape).transpose(1, 2)
        probs = self.softmax(self.scores(q, k.transpose(-1, -2)), attention_mask)
        context = self.context(probs, v)
        return context.transpose(1, 2).reshape(b, s, self.heads * self.head_dim), None

    def extra_repr(self) -> str:
        return f"heads={self.heads}, head_dim={self.head_dim}"


#: Hugging Face self-attention classes :func:`prepare_transformer` replaces (by class name, so
#: that this module does not import transformers).
HF_SELF_ATTENTION = ("BertSelfAttention", "RobertaSelfAttention")
#: Hugging Face encoder layer classes whose layer norms and GELU are quantized.
HF_LAYERS = ("BertLayer", "RobertaLayer", "BertEmbeddings", "RobertaEmbeddings")


def _set_child(parent: nn.Module, name: str, new: nn.Module) -> None:
    setattr(parent, name, new)


def prepare_transformer(model: nn.Module) -> int:
    """Rewrite the BERT / RoBERTa parts of ``model`` in place with the modules above: every
    Hugging Face self-attention becomes a :class:`SelfAttention` (same linears), every layer norm
    of an encoder layer or of the embeddings a :class:`LayerNorm`, and the feed-forward's GELU
    activation an ``nn.GELU()`` (exact erf form, the same function). Returns how many
    self-attentions were replaced (0 for models without them: GPT-2, OPT and the image models are
    left as they are). Idempotent."""
    config = getattr(model, "config", None)
    max_len = int(getattr(config, "max_position_embeddings", 512) or 512)
    replaced = 0
    for _, parent in list(model.named_modules()):
        kind = type(parent).__name__
        for name, child in list(parent.named_children()):
            child_kind = type(child).__name__
            if child_kind in HF_SELF_ATTENTION:
                if getattr(child, "is_cross_attention", False) or kind == "BertCrossAttention":
                    continue
                _set_child(parent, name, SelfAttention.from_hf(child, max_len))
                replaced += 1
            elif kind in ("BertSelfOutput", "BertOutput", "RobertaSelfOutput", "RobertaOutput", *HF_LAYERS):
                if type(child) is nn.LayerNorm:
                    ln = LayerNorm(child.normalized_shape, eps=child.eps, elementwise_affine=child.elementwise_affine)
                    ln.load_state_dict(child.state_dict())
                    _set_child(parent, name, ln)
            if kind in ("BertIntermediate", "RobertaIntermediate") and child_kind == "GELUActivation":
                _set_child(parent, name, nn.GELU())
    return replaced


# ---- quantized modules ----------------------------------------------------------------------------


class QuantMatMul(nn.Module):
    """``golden.attention.matmul`` on activations: ``requant((a @ b) * scale)``.

    Attributes:
        role, scale, scale_frac: as :class:`MatMul`.
        formats: ``data_in`` (``a``), ``weight`` (``b``, signed), ``data_out``.
    """

    def __init__(self, float_module: MatMul, formats: LayerFormats) -> None:
        super().__init__()
        if formats.weight is None:
            raise ValueError(f"{float_module.role}: formats.weight (the second operand's format) is required")
        if not formats.weight.signed:
            raise ValueError(f"{float_module.role}: the second operand's format must be signed, got {formats.weight}")
        self.role, self.scale, self.scale_frac = float_module.role, float_module.scale, float_module.scale_frac
        self.formats = formats

    def int_forward(self, qa: torch.Tensor, qb: torch.Tensor) -> torch.Tensor:
        """Raw int64 ``(..., M, K)`` in ``data_in`` and ``(..., K, N)`` in ``weight`` to raw int64
        ``(..., M, N)`` in ``data_out``."""
        f = self.formats
        assert f.weight is not None
        bits = matmul_acc_bits(f.data_in, f.weight, int(qa.shape[-1]), self.scale)
        if bits > tf.INT64_BITS:
            raise ValueError(
                f"{self.role}: {qa.shape[-1]} products of {f.data_in} by {f.weight} times {self.scale} need "
                f"{bits} bits; the quantized modules are exact up to {tf.INT64_BITS}"
            )
        acc = torch.matmul(qa, qb) * self.scale
        return tf.requantize(acc, matmul_acc_frac(f.data_in, f.weight, self.scale_frac), f.data_out)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        f = self.formats
        assert f.weight is not None
        qa, aq = _quant_ste(a, f.data_in)
        qb, bq = _quant_ste(b, f.weight)
        shadow = torch.matmul(aq, bq.to(aq.dtype)) * (self.scale * 2.0**-self.scale_frac)
        return tf.ste(tf.fixed_to_float(self.int_forward(qa, qb), f.data_out), shadow)

    def to_float(self) -> MatMul:
        return MatMul(self.role, self.scale, self.scale_frac)

    def extra_repr(self) -> str:
        f = self.formats
        return (
            f"{self.role}, scale={self.scale}*2**-{self.scale_frac}, data_in={f.data_in}, "
            f"weight={f.weight}, data_out={f.data_out}"
        )


class QuantSoftmax(nn.Module):
    """``golden.attention.softmax`` over the last axis, with the precision of rows up to
    ``max_len`` (``golden.attention.softmax_fracs``).

    Attributes:
        formats: ``data_in``, ``data_out`` (``weight`` / ``bias`` None).
        max_len, e_frac, r_frac: the row bound and the internal precision.
        table: int64 buffer (not saved): the exponent table (``golden.attention.exp_table``).
    """

    table: torch.Tensor

    def __init__(self, float_module: Softmax, formats: LayerFormats) -> None:
        super().__init__()
        if not formats.data_in.signed:
            raise ValueError(f"softmax: data_in must be signed, got {formats.data_in}")
        self.formats = formats
        self.max_len = float_module.max_len
        self.e_frac, self.r_frac = softmax_fracs(self.max_len, formats.data_out)
        if self.e_frac + self.r_frac + 3 > tf.INT64_BITS or self.e_frac > 30:
            raise ValueError(f"softmax: output {formats.data_out} needs exponents beyond 30 fraction bits")
        table = exp_table(formats.data_in, self.e_frac)
        self.register_buffer("table", torch.from_numpy(table.astype("int64")), persistent=False)

    def int_forward(self, q: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Raw int64 rows in ``data_in`` (last axis) to raw int64 probabilities in ``data_out``;
        ``keep`` (bool, same shape): positions that take part (others get 0)."""
        length = self.table.numel()
        if keep is None:
            m = q.amax(dim=-1, keepdim=True)
            d = m - q
            inside = d < length
        else:
            m = q.masked_fill(~keep, torch.iinfo(torch.int64).min).amax(dim=-1, keepdim=True)
            d = m - q
            inside = keep & (d < length)
        e = torch.where(inside, self.table[d.clamp(0, length - 1)], torch.zeros_like(q))
        total = e.sum(dim=-1, keepdim=True)
        r = ((1 << (self.e_frac + self.r_frac + 1)) + total) // (2 * total)
        return tf.requantize(e * r, self.e_frac + self.r_frac, self.formats.data_out)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, xq = _quant_ste(x, self.formats.data_in)
        keep = attention_keep(mask, x.shape)
        shadow = F.softmax(xq if keep is None else xq.masked_fill(~keep, float("-inf")), dim=-1)
        return tf.ste(tf.fixed_to_float(self.int_forward(q, keep), self.formats.data_out), shadow)

    def to_float(self) -> Softmax:
        return Softmax(self.max_len)

    def extra_repr(self) -> str:
        f = self.formats
        return f"data_in={f.data_in}, data_out={f.data_out}, e_frac={self.e_frac}, r_frac={self.r_frac}"


def _isqrt(w: torch.Tensor) -> torch.Tensor:
    """``floor(sqrt(w))`` of int64 ``w >= 0`` below 2**62, exactly (a float64 estimate corrected)."""
    s = torch.floor(torch.sqrt(w.to(torch.float64))).to(torch.int64)
    for _ in range(2):
        s = torch.where(s * s > w, s - 1, s)
        s = torch.where((s + 1) * (s + 1) <= w, s + 1, s)
    return s


class QuantLayerNorm(nn.Module):
    """``golden.attention.layernorm`` over the last axis with trainable float gamma and beta
    (quantized on use to ``weight`` / ``bias``), precision from ``layernorm_fracs``.

    Attributes:
        formats: ``data_in``, ``weight`` (gamma), ``bias`` (beta), ``data_out``.
        weight, bias: float parameters ``(n,)`` (gamma and beta, named as nn.LayerNorm's).
        eps: the float eps; ``eps_int``, ``rsqrt_frac``, ``sqrt_extra`` the integer constants.
    """

    def __init__(self, ln: nn.LayerNorm, formats: LayerFormats) -> None:
        super().__init__()
        if len(ln.normalized_shape) != 1:
            raise ValueError(f"layernorm: only a last-axis norm maps, got normalized_shape {ln.normalized_shape}")
        if formats.weight is None or formats.bias is None:
            raise ValueError("layernorm: weight (gamma) and bias (beta) formats are required")
        if not (formats.data_in.signed and formats.weight.signed and formats.bias.signed):
            raise ValueError("layernorm: data_in, weight (gamma) and bias (beta) formats must be signed")
        n = int(ln.normalized_shape[0])
        self.n, self.eps, self.formats = n, float(ln.eps), formats
        self.rsqrt_frac, self.sqrt_extra = layernorm_fracs(n, formats.data_in, formats.weight, formats.data_out)
        if formats.bias.frac > formats.weight.frac + self.rsqrt_frac:
            raise ValueError(
                f"layernorm: beta frac {formats.bias.frac} exceeds gamma frac + {self.rsqrt_frac} "
                f"= {formats.weight.frac + self.rsqrt_frac}"
            )
        self.eps_int = layernorm_eps(self.eps, n, formats.data_in, self.sqrt_extra)
        log_n = (n - 1).bit_length()
        w_bits = max(2 * formats.data_in.width + 2 * log_n + 2 + 2 * self.sqrt_extra, self.eps_int.bit_length()) + 1
        d_bits = formats.data_in.width + log_n + 2
        acc_bits = formats.weight.width + d_bits + self.rsqrt_frac + 2 + 1
        if max(w_bits, acc_bits) > tf.INT64_BITS:
            raise ValueError(
                f"layernorm: {n} channels of {formats.data_in} need {max(w_bits, acc_bits)}-bit intermediates; "
                f"the quantized modules are exact up to {tf.INT64_BITS} bits: narrow data_in or weight"
            )
        gamma = ln.weight.detach().clone() if ln.weight is not None else torch.ones(n)
        beta = ln.bias.detach().clone() if getattr(ln, "bias", None) is not None else torch.zeros(n)
        self.weight, self.bias = nn.Parameter(gamma), nn.Parameter(beta)

    def int_weight(self) -> torch.Tensor:
        """Raw int64 gamma ``(n,)`` in ``formats.weight``."""
        assert self.formats.weight is not None
        return tf.float_to_fixed(self.weight, self.formats.weight)

    def int_bias(self) -> torch.Tensor:
        """Raw int64 beta ``(n,)`` in ``formats.bias``."""
        assert self.formats.bias is not None
        return tf.float_to_fixed(self.bias, self.formats.bias)

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 ``(..., n)`` in ``data_in`` to raw int64 in ``data_out``."""
        f = self.formats
        assert f.weight is not None and f.bias is not None
        n, z, rs = self.n, self.sqrt_extra, self.rsqrt_frac
        s1 = q.sum(dim=-1, keepdim=True)
        s2 = (q * q).sum(dim=-1, keepdim=True)
        d = n * q - s1
        w = ((n * s2 - s1 * s1) << (2 * z)) + self.eps_int
        root = _isqrt(w.clamp(min=1))
        r = ((1 << (rs + z + 1)) + root) // (2 * root)
        acc_frac = f.weight.frac + rs
        acc = self.int_weight() * d * r + (self.int_bias() << (acc_frac - f.bias.frac))
        return tf.requantize(acc, acc_frac, f.data_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.formats
        assert f.weight is not None and f.bias is not None
        q, xq = _quant_ste(x, f.data_in)
        gq = tf.ste(tf.fixed_to_float(self.int_weight(), f.weight), self.weight)
        bq = tf.ste(tf.fixed_to_float(self.int_bias(), f.bias), self.bias)
        # eps of at least 1e-12 keeps the gradient path finite on a constant row when eps is 0
        shadow = F.layer_norm(xq.to(gq.dtype), (self.n,), gq, bq.to(gq.dtype), max(self.eps, 1e-12))
        return tf.ste(tf.fixed_to_float(self.int_forward(q), f.data_out), shadow)

    def to_float(self) -> LayerNorm:
        ln = LayerNorm(self.n, eps=self.eps)
        with torch.no_grad():
            ln.weight.copy_(self.weight)
            ln.bias.copy_(self.bias)
        return ln

    def extra_repr(self) -> str:
        f = self.formats
        return (
            f"{self.n}, eps={self.eps}, data_in={f.data_in}, gamma={f.weight}, beta={f.bias}, "
            f"data_out={f.data_out}, rsqrt_frac={self.rsqrt_frac}, sqrt_extra={self.sqrt_extra}"
        )


class EncoderStack(nn.Module):
    """The encoder layers of a BERT / RoBERTa model as one module from the embedded sequence
    ``(B, S, H)`` to the last hidden state ``(B, S, H)``, without an attention mask (every
    position of every sequence takes part): what the accelerator computes. The embedding lookup,
    the pooler and the classifier stay in software."""

    def __init__(self, layers: nn.ModuleList) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            out = layer(x)
            x = out[0] if isinstance(out, tuple) else out
        return x


def encoder_of(model: nn.Module) -> EncoderStack:
    """The :class:`EncoderStack` of a BERT / RoBERTa model (``model.bert`` / ``model.roberta`` /
    itself), sharing its layers (no copy)."""
    base = getattr(model, "bert", None) or getattr(model, "roberta", None) or model
    encoder = getattr(base, "encoder", None)
    if encoder is None or not hasattr(encoder, "layer"):
        raise ValueError(f"{type(model).__name__} has no BERT / RoBERTa encoder (model.bert.encoder.layer)")
    return EncoderStack(encoder.layer)
