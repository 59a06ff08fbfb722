"""Build Needle v1 parameter trees (spec §1.7 layout) from our PyTorch models, for reference checks."""
from __future__ import annotations

import numpy as np


def _attn(sd, prefix, layers):
    def stack(name, transpose=True):
        arrs = [sd[f"{prefix.format(i)}.{name}"].detach().double().numpy() for i in range(layers)]
        return np.stack([a.T if transpose else a for a in arrs])
    return {"q_proj": {"kernel": stack("q_proj.weight")}, "k_proj": {"kernel": stack("k_proj.weight")},
            "v_proj": {"kernel": stack("v_proj.weight")}, "out_proj": {"kernel": stack("o_proj.weight")},
            "q_norm": {"scale": stack("q_norm.weight", False)}, "k_norm": {"scale": stack("k_norm.weight", False)}}


def v1_tree_from_model(model):
    """(params, config) in the original checkpoint's layout and names for a NeedleForConditionalGeneration."""
    c = model.config
    sd = {k: v for k, v in model.state_dict().items()}

    def stack(fmt, layers, transpose=False):
        return np.stack([sd[fmt.format(i)].detach().double().numpy() for i in range(layers)])

    E, D = c.encoder_layers, c.decoder_layers
    params = {
        "embedding": {"embedding": sd["model.shared.weight"].double().numpy()},
        "encoder": {
            "layers": {"EncoderBlock_0": {
                "ZCRMSNorm_0": {"scale": stack("model.encoder.layers.{}.self_attn_norm.weight", E)},
                "attn_gate": stack("model.encoder.layers.{}.self_attn_gate", E),
                "self_attn": _attn(sd, "model.encoder.layers.{}.self_attn", E)}},
            "final_norm": {"scale": sd["model.encoder.norm.weight"].double().numpy()}},
        "decoder": {
            "layers": {"DecoderBlock_0": {
                "ZCRMSNorm_0": {"scale": stack("model.decoder.layers.{}.self_attn_norm.weight", D)},
                "ZCRMSNorm_1": {"scale": stack("model.decoder.layers.{}.cross_attn_norm.weight", D)},
                "self_attn_gate": stack("model.decoder.layers.{}.self_attn_gate", D),
                "cross_attn_gate": stack("model.decoder.layers.{}.cross_attn_gate", D),
                "self_attn": _attn(sd, "model.decoder.layers.{}.self_attn", D),
                "cross_attn": _attn(sd, "model.decoder.layers.{}.cross_attn", D)}},
            "ZCRMSNorm_0": {"scale": sd["model.decoder.norm.weight"].double().numpy()}},
        "contrastive_hidden": {"kernel": sd["model.contrastive_hidden.weight"].double().numpy().T,
                               "bias": sd["model.contrastive_hidden.bias"].double().numpy()},
        "contrastive_proj": {"kernel": sd["model.contrastive_proj.weight"].double().numpy().T},
        "log_temp": sd["model.log_temp"].double().numpy(),
    }
    config = {"d_model": c.d_model, "num_heads": c.num_attention_heads, "num_kv_heads": c.num_key_value_heads,
              "num_encoder_layers": E, "num_decoder_layers": D, "rope_theta": c.rope_theta, "vocab_size": c.vocab_size}
    return params, config
