"""Configuration of Needle, the Simple Attention Network (SAN) for tool calling.

Self-contained (torch/transformers only, relative imports only): this file is also the Hub remote code.
Defaults are the released 26M model (12 encoder / 8 decoder layers, d_model 512, 8 heads, 4 KV heads, vocab 8192).
"""
from __future__ import annotations

try:  # transformers 5.x
    from transformers import PreTrainedConfig
except ImportError:  # transformers 4.x
    from transformers import PretrainedConfig as PreTrainedConfig


# Named sizes. "needle-26m" is the released architecture; the smaller ones exist for CPU training and tests.
PRESETS: dict[str, dict] = {
    "needle-26m": dict(d_model=512, num_attention_heads=8, num_key_value_heads=4, encoder_layers=12, decoder_layers=8),
    "needle-small": dict(d_model=384, num_attention_heads=6, num_key_value_heads=3, encoder_layers=8, decoder_layers=6),
    "needle-mini": dict(d_model=256, num_attention_heads=4, num_key_value_heads=2, encoder_layers=6, decoder_layers=4),
    "needle-micro": dict(d_model=128, num_attention_heads=4, num_key_value_heads=2, encoder_layers=6, decoder_layers=4,
                         contrastive_dim=64),
    "needle-tiny": dict(d_model=64, num_attention_heads=4, num_key_value_heads=2, encoder_layers=2, decoder_layers=2,
                        contrastive_dim=32),
}


class NeedleConfig(PreTrainedConfig):
    r"""Configuration for [`NeedleForConditionalGeneration`].

    Args:
        vocab_size: size of the shared (tied) token embedding.
        d_model: width of the residual stream.
        num_attention_heads: query heads; `d_model` must be divisible by it.
        num_key_value_heads: key/value heads (GQA); must divide `num_attention_heads`.
        encoder_layers / decoder_layers: number of attention-only blocks.
        rope_theta: RoPE base (half-split / `rotate_half` convention).
        dropout: dropout on every attention sub-layer output, before the residual gate (training only).
        rms_norm_eps: epsilon of the zero-centred RMSNorm `(1 + w) * x / rms(x)`.
        contrastive_dim: output size of the CLIP-style tool-retrieval head.
        max_encoder_length / max_decoder_length: lengths the model was trained for (inputs are truncated to them).
        ensure_ascii_json: serialize tools and answers with `\\uXXXX` escapes (True only for models converted from
            Needle v1, which was trained that way); native models see raw UTF-8.
        tool_call_token_id / tools_token_id: ids of `<tool_call>` (first decoder output) and `<tools>` (separates the
            query from the tools in the encoder input).
        no_call_bias: added to the logit of the no-call answer `[]` at the first answer step, where the model decides
            between no call and a call (a decision threshold; `needle-hf calibrate` fits it on validation data).
        copy_strings: the pipeline's default for copy mode in constrained decoding (free-text string arguments must
            be words copied from the request, or ISO dates/times/short codes; see `constrained.answer_lark`).
    """

    model_type = "needle"
    keys_to_ignore_at_inference = ["past_key_values", "cache"]  # the KV cache's name before / since transformers 5.24
    attribute_map = {"hidden_size": "d_model", "num_hidden_layers": "encoder_layers"}

    def __init__(
        self,
        vocab_size: int = 8192,
        d_model: int = 512,
        num_attention_heads: int = 8,
        num_key_value_heads: int = 4,
        encoder_layers: int = 12,
        decoder_layers: int = 8,
        rope_theta: float = 10000.0,
        dropout: float = 0.1,
        rms_norm_eps: float = 1e-6,
        contrastive_dim: int = 128,
        initializer_range: float = 0.02,
        max_encoder_length: int = 1024,
        max_decoder_length: int = 512,
        ensure_ascii_json: bool = False,
        tool_call_token_id: int = 4,
        tools_token_id: int = 5,
        no_call_bias: float = 0.0,
        copy_strings: bool = False,
        use_cache: bool = True,
        pad_token_id: int = 0,
        eos_token_id: int = 1,
        bos_token_id: int = 2,
        decoder_start_token_id: int = 1,
        tie_word_embeddings: bool = True,
        is_encoder_decoder: bool = True,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.rope_theta = rope_theta
        self.dropout = dropout
        self.rms_norm_eps = rms_norm_eps
        self.contrastive_dim = contrastive_dim
        self.initializer_range = initializer_range
        self.max_encoder_length = max_encoder_length
        self.max_decoder_length = max_decoder_length
        self.ensure_ascii_json = ensure_ascii_json
        self.tool_call_token_id = tool_call_token_id
        self.tools_token_id = tools_token_id
        self.no_call_bias = float(no_call_bias)
        self.copy_strings = bool(copy_strings)
        self.use_cache = use_cache
        self._validate()
        # Token ids and tying go through super().__init__ so that transformers 4.x keeps them (hf-conventions §1).
        super().__init__(
            pad_token_id=pad_token_id,
            eos_token_id=eos_token_id,
            bos_token_id=bos_token_id,
            decoder_start_token_id=decoder_start_token_id,
            tie_word_embeddings=tie_word_embeddings,
            is_encoder_decoder=is_encoder_decoder,
            **kwargs,
        )

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_attention_heads

    # `custom_pipelines` is the Hub entry that lets `pipeline("tool-calling", ..., trust_remote_code=True)` find
    # pipeline_tool_calling.py. transformers prefers such an entry over registered tasks and then demands
    # trust_remote_code, so when this class comes from the installed package (whose import registered the
    # "tool-calling" task) the entry is hidden at run time; it is still saved in config.json.
    @property
    def custom_pipelines(self) -> dict:
        stored = self.__dict__.get("_custom_pipelines") or {}
        return {} if __name__.startswith("needle_hf.") else stored

    @custom_pipelines.setter
    def custom_pipelines(self, value) -> None:
        self.__dict__["_custom_pipelines"] = dict(value or {})

    def to_dict(self) -> dict:
        output = super().to_dict()
        stored = output.pop("_custom_pipelines", None)
        if stored:
            output["custom_pipelines"] = stored
        return output

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "NeedleConfig":
        """Build a config from a named size (`needle-26m`, `needle-small`, `needle-mini`, `needle-micro`,
        `needle-tiny`)."""
        if name not in PRESETS:
            raise ValueError(f"Unknown Needle preset {name!r}; choose one of {', '.join(PRESETS)}.")
        return cls(**{**PRESETS[name], **overrides})

    def _validate(self) -> None:
        for field in ("vocab_size", "d_model", "num_attention_heads", "num_key_value_heads", "encoder_layers",
                      "decoder_layers", "contrastive_dim", "max_encoder_length", "max_decoder_length"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"NeedleConfig.{field} must be a positive integer, got {value!r}.")
        if self.d_model % self.num_attention_heads:
            raise ValueError(f"NeedleConfig.d_model ({self.d_model}) must be divisible by num_attention_heads "
                             f"({self.num_attention_heads}).")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"NeedleConfig.num_key_value_heads ({self.num_key_value_heads}) must divide "
                             f"num_attention_heads ({self.num_attention_heads}).")
        if self.head_dim % 2:
            raise ValueError(f"NeedleConfig head_dim (d_model / num_attention_heads = {self.head_dim}) must be even "
                             "for RoPE.")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"NeedleConfig.dropout must be in [0, 1), got {self.dropout!r}.")
        if float(self.rope_theta) <= 0 or float(self.rms_norm_eps) <= 0:
            raise ValueError("NeedleConfig.rope_theta and rms_norm_eps must be positive.")
        for field in ("tool_call_token_id", "tools_token_id"):
            if not 0 <= getattr(self, field) < self.vocab_size:
                raise ValueError(f"NeedleConfig.{field} ({getattr(self, field)}) must be a token id below "
                                 f"vocab_size ({self.vocab_size}).")


__all__ = ["NeedleConfig", "PRESETS"]
