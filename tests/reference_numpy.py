"""Independent numpy implementation of the Needle v1 forward pass, written from reference/needle-v1-spec.md §1.

It reads the ORIGINAL parameter tree layout (spec §1.7: scan-stacked layers, Flax (in, out) kernels, auto-named
norms), so it shares no code or naming with modeling/ and can check both the model and the checkpoint converter.
"""
from __future__ import annotations

import numpy as np


def zc_norm(x, scale, eps=1e-6):
    x = x.astype(np.float64)
    return (1.0 + scale) * x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def rope(x, theta=10000.0):
    # x: (B, H, T, hd); half-split convention, positions 0..T-1
    hd, t = x.shape[-1], x.shape[-2]
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = np.arange(t)[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def attention(xq, xkv, p, mask, heads, kv_heads, use_rope, theta):
    b, tq, d = xq.shape
    hd = d // heads
    q = (xq @ p["q_proj"]["kernel"]).reshape(b, tq, heads, hd).transpose(0, 2, 1, 3)
    k = (xkv @ p["k_proj"]["kernel"]).reshape(b, -1, kv_heads, hd).transpose(0, 2, 1, 3)
    v = (xkv @ p["v_proj"]["kernel"]).reshape(b, -1, kv_heads, hd).transpose(0, 2, 1, 3)
    q, k = zc_norm(q, p["q_norm"]["scale"]), zc_norm(k, p["k_norm"]["scale"])
    rep = heads // kv_heads
    k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)  # query head h uses kv head h // rep
    if use_rope:
        q, k = rope(q, theta), rope(k, theta)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
    s = np.where(mask, s, np.finfo(np.float32).min)
    s = s - s.max(-1, keepdims=True)
    prob = np.exp(s)
    prob = prob / prob.sum(-1, keepdims=True)
    o = (prob @ v).transpose(0, 2, 1, 3).reshape(b, tq, d)
    return o @ p["out_proj"]["kernel"]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def layer_slice(tree, i):
    """Take layer i of a scan-stacked subtree."""
    if isinstance(tree, dict):
        return {k: layer_slice(v, i) for k, v in tree.items()}
    return np.asarray(tree, dtype=np.float64)[i]


def forward(params, config, src, tgt):
    """Logits (B, Ttgt, V) for encoder ids `src` and decoder inputs `tgt` (fp64, deterministic, pad id 0)."""
    d, heads, kv = config["d_model"], config["num_heads"], config["num_kv_heads"]
    theta = config.get("rope_theta", 10000.0)
    emb = np.asarray(params["embedding"]["embedding"], dtype=np.float64)
    src_mask = (src != 0)[:, None, None, :]
    x = emb[src] * np.sqrt(d)
    enc = params["encoder"]["layers"]["EncoderBlock_0"]
    for i in range(config["num_encoder_layers"]):
        p = layer_slice(enc, i)
        h = zc_norm(x, p["ZCRMSNorm_0"]["scale"])
        x = x + sigmoid(p["attn_gate"]) * attention(h, h, p["self_attn"], src_mask, heads, kv, True, theta)
    enc_out = zc_norm(x, np.asarray(params["encoder"]["final_norm"]["scale"], dtype=np.float64))
    t = tgt.shape[1]
    causal = np.tril(np.ones((t, t), dtype=bool))[None, None]
    y = emb[tgt] * np.sqrt(d)
    dec = params["decoder"]["layers"]["DecoderBlock_0"]
    for i in range(config["num_decoder_layers"]):
        p = layer_slice(dec, i)
        h = zc_norm(y, p["ZCRMSNorm_0"]["scale"])
        y = y + sigmoid(p["self_attn_gate"]) * attention(h, h, p["self_attn"], causal, heads, kv, True, theta)
        h = zc_norm(y, p["ZCRMSNorm_1"]["scale"])
        y = y + sigmoid(p["cross_attn_gate"]) * attention(h, enc_out, p["cross_attn"], src_mask, heads, kv, False,
                                                          theta)
    y = zc_norm(y, np.asarray(params["decoder"]["ZCRMSNorm_0"]["scale"], dtype=np.float64))
    return y @ emb.T  # tied, no rescale


def contrastive(params, config, tokens):
    """Unit-norm retrieval embeddings of `tokens` (B, T), spec §1.4."""
    d, heads, kv = config["d_model"], config["num_heads"], config["num_kv_heads"]
    emb = np.asarray(params["embedding"]["embedding"], dtype=np.float64)
    m = tokens != 0
    x = emb[tokens] * np.sqrt(d)
    enc = params["encoder"]["layers"]["EncoderBlock_0"]
    for i in range(config["num_encoder_layers"]):
        p = layer_slice(enc, i)
        h = zc_norm(x, p["ZCRMSNorm_0"]["scale"])
        x = x + sigmoid(p["attn_gate"]) * attention(h, h, p["self_attn"], m[:, None, None, :], heads, kv, True,
                                                    config.get("rope_theta", 10000.0))
    x = zc_norm(x, np.asarray(params["encoder"]["final_norm"]["scale"], dtype=np.float64))
    pooled = (x * m[..., None]).sum(1) / np.maximum(m.sum(1, keepdims=True), 1)
    h = np.maximum(pooled @ params["contrastive_hidden"]["kernel"] + params["contrastive_hidden"]["bias"], 0)
    z = h @ params["contrastive_proj"]["kernel"]
    return z / np.sqrt((z * z).sum(-1, keepdims=True) + 1e-12)
