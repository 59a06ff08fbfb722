"""Needle: the Simple Attention Network (SAN), an attention-only encoder-decoder for tool calling.

One self-contained file (torch + transformers, relative imports only) so it also serves as Hub remote code.
Architecture (reference/needle-v1-spec.md §1): shared embedding x sqrt(d), zero-centred RMSNorm, scalar
sigmoid-gated residuals, no feed-forward layers, GQA, per-head QK-norm then half-split RoPE (self-attention only),
fp32 softmax with an additive finfo.min mask, tied output without rescale, and a CLIP-style contrastive head.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput, Seq2SeqModelOutput

from .configuration_needle import NeedleConfig

# transformers >= 5.24 calls the KV cache `cache` (generate passes `cache=`, outputs have a `cache` field); earlier
# versions `past_key_values`. Accept both on input, write the field this version's outputs have.
CACHE_FIELD = "cache" if "cache" in Seq2SeqLMOutput.__dataclass_fields__ else "past_key_values"

try:  # transformers 5: init helpers skip tensors that from_pretrained already loaded
    from transformers import initialization as init
except ImportError:  # transformers 4.x: _init_weights only runs on modules with missing weights
    from torch.nn import init


class NeedleRMSNorm(nn.Module):
    """Zero-centred RMSNorm: (1 + w) * x / rms(x), w = 0 at init; statistics in fp32."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (x32 * (1.0 + self.weight.float())).to(x.dtype)


class NeedleRotary(nn.Module):
    """Half-split RoPE tables (cos, sin) for given positions. Not named *RotaryEmbedding on purpose: transformers
    re-initialises such classes through its own RoPE registry."""

    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        self.head_dim, self.theta = head_dim, theta
        self.register_buffer("inv_freq", self.compute_inv_freq(), persistent=False)

    def compute_inv_freq(self) -> torch.Tensor:
        return 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angles = positions.float()[..., None] * self.inv_freq.float().to(positions.device)  # (T, hd/2)
        angles = torch.cat([angles, angles], dim=-1)
        return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # Computed in fp32 like the reference (its cos/sin are fp32), then cast back.
    return (x.float() * cos + rotate_half(x.float()) * sin).to(x.dtype)


def padding_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(B, Tk) 1/0 -> additive (B, 1, 1, Tk) with finfo.min (not -inf: fully padded rows stay finite)."""
    if attention_mask is None:
        return None
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def causal_mask(q_len: int, k_len: int, past: int, device, dtype) -> torch.Tensor:
    """Additive (1, 1, Tq, Tk) mask built from sizes only: query i (absolute past + i) sees keys <= past + i."""
    q_pos = torch.arange(q_len, device=device)[:, None] + past
    k_pos = torch.arange(k_len, device=device)[None, :]
    return ((k_pos > q_pos).to(dtype) * torch.finfo(dtype).min)[None, None]


def _cached_cross_kv(cache: EncoderDecoderCache, layer_idx: int):
    layers = getattr(cache.cross_attention_cache, "layers", None)
    if layers is not None:
        return layers[layer_idx].keys, layers[layer_idx].values
    return cache.cross_attention_cache[layer_idx]  # older caches index as (k, v)


class NeedleAttention(nn.Module):
    """GQA attention with per-head QK-norm; RoPE for self-attention, none for cross-attention."""

    def __init__(self, config: NeedleConfig, layer_idx: int, is_cross_attention: bool = False):
        super().__init__()
        self.layer_idx, self.is_cross_attention = layer_idx, is_cross_attention
        self.num_heads, self.num_kv_heads, self.head_dim = (config.num_attention_heads, config.num_key_value_heads,
                                                            config.head_dim)
        d = config.d_model
        self.q_proj = nn.Linear(d, self.num_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.num_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.num_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, d, bias=False)
        # Reference init: output projections scaled down by sqrt(2 * total layers).
        self.o_proj.init_std = config.initializer_range / math.sqrt(2 * (config.encoder_layers + config.decoder_layers))
        self.q_norm = NeedleRMSNorm(self.head_dim, config.rms_norm_eps)
        self.k_norm = NeedleRMSNorm(self.head_dim, config.rms_norm_eps)
        self.attn_implementation = getattr(config, "_attn_implementation", None) or "sdpa"

    def _heads(self, x: torch.Tensor, n: int) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], n, self.head_dim).transpose(1, 2)

    def cross_key_values(self, key_value_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention K/V (B, KV, Tk, hd) of the encoder output: QK-normed keys, no RoPE."""
        k = self.k_norm(self._heads(self.k_proj(key_value_states), self.num_kv_heads))
        return k, self._heads(self.v_proj(key_value_states), self.num_kv_heads)

    def forward(self, hidden_states, key_value_states=None, attention_mask=None, rope=None, past_key_values=None):
        q = self.q_norm(self._heads(self.q_proj(hidden_states), self.num_heads))
        if self.is_cross_attention:
            if past_key_values is not None and past_key_values.is_updated.get(self.layer_idx):
                k, v = _cached_cross_kv(past_key_values, self.layer_idx)  # encoder K/V: computed once per generate
            else:
                k, v = self.cross_key_values(key_value_states)
                if past_key_values is not None:
                    k, v = past_key_values.cross_attention_cache.update(k, v, self.layer_idx)
                    past_key_values.is_updated[self.layer_idx] = True
        else:
            k = self.k_norm(self._heads(self.k_proj(hidden_states), self.num_kv_heads))
            v = self._heads(self.v_proj(hidden_states), self.num_kv_heads)
            if rope is not None:  # RoPE after QK-norm
                q, k = apply_rope(q, *rope), apply_rope(k, *rope)
            if past_key_values is not None:
                cache = getattr(past_key_values, "self_attention_cache", past_key_values)
                k, v = cache.update(k, v, self.layer_idx)
        # GQA without copying K/V per query head: the n_rep query heads that share KV head g (heads g * n_rep ...)
        # are stacked along the query axis, so row r * S + i of group g is query i of head g * n_rep + r
        b, h, s, hd = q.shape
        n_rep = h // self.num_kv_heads
        q = q.reshape(b, self.num_kv_heads, n_rep * s, hd)
        if attention_mask is not None and attention_mask.shape[-2] > 1 and n_rep > 1:
            attention_mask = attention_mask.repeat(1, 1, n_rep, 1)  # per-query-row masks (causal) follow the rows
        if q.dtype == torch.float32 and self.attn_implementation == "sdpa":
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask)
        else:  # bf16/fp16 (or eager): scores and softmax in fp32 as the reference does
            scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) / math.sqrt(self.head_dim)
            if attention_mask is not None:
                scores = scores + attention_mask.float()
            out = torch.matmul(scores.softmax(-1), v.float()).to(q.dtype)
        out = out.reshape(b, h, s, hd).transpose(1, 2).reshape(b, s, h * hd)
        return self.o_proj(out)


class NeedleEncoderLayer(nn.Module):
    def __init__(self, config: NeedleConfig, layer_idx: int):
        super().__init__()
        self.self_attn_norm = NeedleRMSNorm(config.d_model, config.rms_norm_eps)
        self.self_attn = NeedleAttention(config, layer_idx)
        self.self_attn_gate = nn.Parameter(torch.zeros(()))  # scalar, pre-sigmoid: 0 -> gate 0.5 at init
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x, attention_mask, rope):
        h = self.self_attn(self.self_attn_norm(x), attention_mask=attention_mask, rope=rope)
        return x + torch.sigmoid(self.self_attn_gate).to(x.dtype) * self.dropout(h)


class NeedleDecoderLayer(nn.Module):
    def __init__(self, config: NeedleConfig, layer_idx: int):
        super().__init__()
        self.self_attn_norm = NeedleRMSNorm(config.d_model, config.rms_norm_eps)
        self.self_attn = NeedleAttention(config, layer_idx)
        self.self_attn_gate = nn.Parameter(torch.zeros(()))
        self.cross_attn_norm = NeedleRMSNorm(config.d_model, config.rms_norm_eps)
        self.cross_attn = NeedleAttention(config, layer_idx, is_cross_attention=True)
        self.cross_attn_gate = nn.Parameter(torch.zeros(()))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, y, encoder_hidden_states, self_mask, cross_mask, rope, past_key_values=None):
        h = self.self_attn(self.self_attn_norm(y), attention_mask=self_mask, rope=rope, past_key_values=past_key_values)
        y = y + torch.sigmoid(self.self_attn_gate).to(y.dtype) * self.dropout(h)
        h = self.cross_attn(self.cross_attn_norm(y), key_value_states=encoder_hidden_states, attention_mask=cross_mask,
                            past_key_values=past_key_values)
        return y + torch.sigmoid(self.cross_attn_gate).to(y.dtype) * self.dropout(h)


class NeedlePreTrainedModel(PreTrainedModel):
    config_class = NeedleConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _no_split_modules = ["NeedleEncoderLayer", "NeedleDecoderLayer"]
    _supports_sdpa = True
    _supports_cache_class = True
    accepts_loss_kwargs = False  # forward's loss is a plain mean; NeedleTrainer computes its own weighted loss

    @torch.no_grad()
    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=getattr(module, "init_std", std))
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, NeedleRMSNorm):
            init.zeros_(module.weight)  # zero-centred: scale = 1 + w
        elif isinstance(module, NeedleRotary):
            # non-persistent buffer: not in checkpoints, so rebuild it after from_pretrained
            module.inv_freq.copy_(module.compute_inv_freq())
        elif isinstance(module, (NeedleEncoderLayer, NeedleDecoderLayer)):
            for name, param in module.named_parameters(recurse=False):
                init.zeros_(param)  # residual gates
        elif isinstance(module, NeedleModel):
            init.zeros_(module.log_temp)


class NeedleEncoder(NeedlePreTrainedModel):
    def __init__(self, config: NeedleConfig, embed_tokens: nn.Embedding | None = None):
        super().__init__(config)
        self.embed_tokens = (embed_tokens if embed_tokens is not None
                             else nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id))
        self.embed_scale = math.sqrt(config.d_model)
        self.rotary = NeedleRotary(config.head_dim, config.rope_theta)
        self.layers = nn.ModuleList(NeedleEncoderLayer(config, i) for i in range(config.encoder_layers))
        self.norm = NeedleRMSNorm(config.d_model, config.rms_norm_eps)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed_tokens

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, return_dict=True, **kwargs):
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        x = inputs_embeds * self.embed_scale
        if attention_mask is None and input_ids is not None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        mask = padding_mask(attention_mask, torch.float32 if x.dtype == torch.float32 else x.dtype)
        rope = self.rotary(torch.arange(x.shape[1], device=x.device))
        for layer in self.layers:
            x = layer(x, mask, rope)
        x = self.norm(x)
        return BaseModelOutput(last_hidden_state=x) if return_dict else (x,)


class NeedleDecoder(NeedlePreTrainedModel):
    def __init__(self, config: NeedleConfig, embed_tokens: nn.Embedding | None = None):
        super().__init__(config)
        self.embed_tokens = (embed_tokens if embed_tokens is not None
                             else nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id))
        self.embed_scale = math.sqrt(config.d_model)
        self.rotary = NeedleRotary(config.head_dim, config.rope_theta)
        self.layers = nn.ModuleList(NeedleDecoderLayer(config, i) for i in range(config.decoder_layers))
        self.norm = NeedleRMSNorm(config.d_model, config.rms_norm_eps)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed_tokens

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask=None, attention_mask=None,
                past_key_values=None, inputs_embeds=None):
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        y = inputs_embeds * self.embed_scale
        mask_dtype = torch.float32 if y.dtype == torch.float32 else y.dtype
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        q_len = y.shape[1]
        self_mask = causal_mask(q_len, past + q_len, past, y.device, mask_dtype)
        if attention_mask is not None and attention_mask.shape[-1] == past + q_len:  # padded decoder inputs
            self_mask = self_mask + padding_mask(attention_mask, mask_dtype)
            self_mask = self_mask.clamp(min=torch.finfo(mask_dtype).min)
        cross_mask = padding_mask(encoder_attention_mask, mask_dtype)
        rope = self.rotary(torch.arange(past, past + q_len, device=y.device))
        for layer in self.layers:
            y = layer(y, encoder_hidden_states, self_mask, cross_mask, rope, past_key_values)
        return self.norm(y)


class NeedleModel(NeedlePreTrainedModel):
    _tied_weights_keys = {"encoder.embed_tokens.weight": "shared.weight",
                          "decoder.embed_tokens.weight": "shared.weight"}

    def __init__(self, config: NeedleConfig):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.encoder = NeedleEncoder(config, self.shared)
        self.decoder = NeedleDecoder(config, self.shared)
        # CLIP-style tool-retrieval head on the mean-pooled encoder output.
        self.contrastive_hidden = nn.Linear(config.d_model, config.d_model // 4, bias=True)
        self.contrastive_proj = nn.Linear(config.d_model // 4, config.contrastive_dim, bias=False)
        self.log_temp = nn.Parameter(torch.zeros(()))  # contrastive temperature, used by the training loss
        self.post_init()

    def get_input_embeddings(self):
        return self.shared

    def set_input_embeddings(self, value):
        self.shared = value
        self.encoder.embed_tokens = value
        self.decoder.embed_tokens = value

    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    def encode_contrastive(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Unit-norm retrieval embeddings (B, contrastive_dim) of queries or single tools, for cosine ranking."""
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        enc = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.contrastive_embedding(enc, attention_mask)

    def contrastive_embedding(self, encoder_hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The retrieval head on encoder states (B, T, d): masked mean pool, MLP, unit vector (B, contrastive_dim)."""
        enc = encoder_hidden_states.float()
        m = attention_mask[..., None].float()
        pooled = (enc * m).sum(1) / m.sum(1).clamp(min=1.0)
        z = self.contrastive_proj(F.relu(self.contrastive_hidden(pooled.to(self.contrastive_hidden.weight.dtype))))
        z = z.float()
        return z / torch.sqrt((z * z).sum(-1, keepdim=True) + 1e-12)  # "safe" L2 norm: no NaN gradient at 0

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, use_cache=None, return_dict=True,
                cache=None, **kwargs):
        past_key_values = cache if cache is not None else past_key_values
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                           inputs_embeds=inputs_embeds)
        elif not isinstance(encoder_outputs, BaseModelOutput):
            encoder_outputs = BaseModelOutput(last_hidden_state=encoder_outputs[0])
        if attention_mask is None and input_ids is not None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        use_cache = use_cache if use_cache is not None else (self.config.use_cache and not self.training)
        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache(DynamicCache(), DynamicCache())
        if not use_cache:
            past_key_values = None
        hidden = self.decoder(decoder_input_ids, encoder_outputs.last_hidden_state, encoder_attention_mask=attention_mask,
                              attention_mask=decoder_attention_mask, past_key_values=past_key_values)
        return Seq2SeqModelOutput(last_hidden_state=hidden, encoder_last_hidden_state=encoder_outputs.last_hidden_state,
                                  **{CACHE_FIELD: past_key_values})


def shift_tokens_right(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    shifted = labels.new_full(labels.shape, pad_token_id)
    shifted[:, 1:] = labels[:, :-1]
    shifted[:, 0] = decoder_start_token_id
    return shifted.masked_fill(shifted == -100, pad_token_id)


class NeedleForConditionalGeneration(NeedlePreTrainedModel, GenerationMixin):
    _tied_weights_keys = {"lm_head.weight": "model.shared.weight"}

    def __init__(self, config: NeedleConfig):
        super().__init__(config)
        self.model = NeedleModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.shared

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    def get_encoder(self):
        return self.model.encoder

    def get_decoder(self):
        return self.model.decoder

    def encode_contrastive(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.encode_contrastive(input_ids, attention_mask)

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, labels=None, use_cache=None,
                return_dict=True, cache=None, **kwargs):
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id,
                                                   self.config.decoder_start_token_id)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                         decoder_attention_mask=decoder_attention_mask, encoder_outputs=encoder_outputs,
                         past_key_values=past_key_values, cache=cache, inputs_embeds=inputs_embeds,
                         use_cache=use_cache)
        # Tied output, no d_model**-0.5 rescale, logits in fp32 even under autocast.
        with torch.autocast(device_type=out.last_hidden_state.device.type, enabled=False):
            logits = F.linear(out.last_hidden_state.float(), self.lm_head.weight.float())
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        return Seq2SeqLMOutput(loss=loss, logits=logits, encoder_last_hidden_state=out.encoder_last_hidden_state,
                               **{CACHE_FIELD: getattr(out, CACHE_FIELD)})


__all__ = ["NeedleForConditionalGeneration", "NeedleModel", "NeedlePreTrainedModel"]
