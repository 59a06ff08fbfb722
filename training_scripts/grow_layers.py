"""Deepen a trained Needle model without changing what it computes ("function-preserving growth").

    python training_scripts/grow_layers.py needle_hf/models/needle-micro --out runs/grown \
        --encoder-layers 8 --decoder-layers 6

New layers are appended on top of the existing ones (before the final norm) with freshly initialised attention and
their output projections (`o_proj`, self- and cross-attention) set to zero, so each new layer adds nothing to its
residual stream until training moves `o_proj`: the grown model gives the same logits as the source, and continued
training (`needle-hf train DATA --model OUT ...`) has extra capacity to use. The output folder is a standard model
folder (config, tokenizer, generation config, remote code) with the project's model card, naming the source.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from transformers import AutoTokenizer

import needle_hf
from needle_hf.saving import model_card, save_model_folder


def grow(model, encoder_layers: int, decoder_layers: int, seed: int = 0):
    """A copy of ``model`` with ``encoder_layers`` / ``decoder_layers`` layers whose output equals ``model``'s."""
    config = model.config
    if encoder_layers < config.encoder_layers or decoder_layers < config.decoder_layers:
        raise ValueError(f"growth only adds layers: the model has {config.encoder_layers} encoder and "
                         f"{config.decoder_layers} decoder layers, asked for {encoder_layers} and {decoder_layers}")
    new_config = type(config).from_dict({**config.to_dict(), "encoder_layers": encoder_layers,
                                         "decoder_layers": decoder_layers})
    torch.manual_seed(seed)
    grown = type(model)(new_config)  # fresh init everywhere
    _, unexpected = grown.load_state_dict(model.state_dict(), strict=False)  # the new layers are 'missing'
    if unexpected:
        raise RuntimeError(f"tensors of the source the grown model has no place for: {unexpected[:5]}")
    with torch.no_grad():
        for layer in grown.model.encoder.layers[config.encoder_layers:]:
            layer.self_attn.o_proj.weight.zero_()  # o_proj has no bias: a zero weight adds nothing to the residual
        for layer in grown.model.decoder.layers[config.decoder_layers:]:
            layer.self_attn.o_proj.weight.zero_()
            layer.cross_attn.o_proj.weight.zero_()
    return grown


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="source model folder")
    ap.add_argument("--out", required=True, help="output model folder (must not exist)")
    ap.add_argument("--encoder-layers", type=int, required=True)
    ap.add_argument("--decoder-layers", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0, help="seed of the new layers' initialisation")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not (Path(args.model) / "config.json").is_file():
        raise SystemExit(f"{args.model}: not a model folder (no config.json)")
    if out.exists():
        raise SystemExit(f"{out}: already exists; pick a new folder")
    model = needle_hf.NeedleForConditionalGeneration.from_pretrained(args.model)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    try:
        grown = grow(model, args.encoder_layers, args.decoder_layers, args.seed)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    description = (f"`{args.model}` grown to {args.encoder_layers} encoder + {args.decoder_layers} decoder layers "
                   f"(`training_scripts/grow_layers.py`; new layers start as identities). It computes what the "
                   f"source computes until it is trained further.")
    save_model_folder(grown, tokenizer, out, card=model_card(grown.config, name=out.name, description=description))
    n = sum(p.numel() for p in grown.parameters())
    print(f"wrote {out}: {n:,} parameters ({args.encoder_layers} encoder + {args.decoder_layers} decoder layers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
