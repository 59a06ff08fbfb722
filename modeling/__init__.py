"""Self-contained Hub remote code for Needle (also importable as `needle_hf.modeling`)."""
from .configuration_needle import PRESETS, NeedleConfig
from .modeling_needle import NeedleForConditionalGeneration, NeedleModel, NeedlePreTrainedModel
