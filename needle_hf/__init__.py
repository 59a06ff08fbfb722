"""needle-hf: the Needle Simple Attention Network as a Hugging Face ecosystem package.

Importing it registers the "needle" model type with the Auto classes and the "tool-calling" pipeline
(`pipeline("tool-calling")` with no model uses the model shipped in the package, `DEFAULT_MODEL`).
"""
from pathlib import Path

from transformers import AutoConfig, AutoModelForSeq2SeqLM
from transformers.pipelines import PIPELINE_REGISTRY

from .modeling import PRESETS, NeedleConfig, NeedleForConditionalGeneration, NeedleModel
from .modeling.pipeline_tool_calling import ToolCallingPipeline, retrieve_tools
from .modeling.tools import Tool, parse_tools, tool

__version__ = "0.1.0"

# The trained model shipped inside the package (a plain Hub-style folder; see needle_hf/models/).
DEFAULT_MODEL_NAME = "needle-micro"
DEFAULT_MODEL = str(Path(__file__).resolve().parent / "models" / DEFAULT_MODEL_NAME)

AutoConfig.register("needle", NeedleConfig, exist_ok=True)
AutoModelForSeq2SeqLM.register(NeedleConfig, NeedleForConditionalGeneration, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline("tool-calling", pipeline_class=ToolCallingPipeline,
                                    pt_model=AutoModelForSeq2SeqLM, default={"model": (DEFAULT_MODEL, "main")})

__all__ = ["DEFAULT_MODEL", "DEFAULT_MODEL_NAME", "NeedleConfig", "NeedleForConditionalGeneration", "NeedleModel",
           "PRESETS", "Tool", "ToolCallingPipeline", "parse_tools", "retrieve_tools", "tool", "__version__"]
