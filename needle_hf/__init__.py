"""needle-hf: the Needle Simple Attention Network as a Hugging Face ecosystem package.

Importing it registers the "needle" model type with the Auto classes (and the "tool-calling" pipeline).
"""
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from .modeling import PRESETS, NeedleConfig, NeedleForConditionalGeneration, NeedleModel

__version__ = "0.1.0"

AutoConfig.register("needle", NeedleConfig, exist_ok=True)
AutoModelForSeq2SeqLM.register(NeedleConfig, NeedleForConditionalGeneration, exist_ok=True)

__all__ = ["NeedleConfig", "NeedleForConditionalGeneration", "NeedleModel", "PRESETS", "__version__"]
