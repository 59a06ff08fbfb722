"""Muon+AdamW facade, WSD schedule, fake-quant QAT."""
from __future__ import annotations

import copy
import math

import pytest
import torch

from needle_hf.training.optim import MuonAdamW, build_muon_adamw, split_muon_params, wsd_lambda, wsd_schedule
from needle_hf.training.quant import (FakeQuantCallback, FakeQuantLinear, attach_fake_quant, fake_quant,
                                      fake_quantize, set_fake_quant)
from needle_hf.training.trainer import clip_loss

from .helpers_training import tiny_train_model


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared: oversubscribed threads are much slower than one
    yield
    torch.set_num_threads(n)


def _loss(model, with_contrastive=True):
    ids = torch.randint(6, model.config.vocab_size, (4, 12))
    labels = torch.randint(6, model.config.vocab_size, (4, 7))
    out = model(input_ids=ids, labels=labels)
    loss = out.loss
    if with_contrastive:
        q = model.encode_contrastive(ids[:, :6])
        t = model.encode_contrastive(ids[:, 6:])
        loss = loss + clip_loss(q, t, model.model.log_temp)
    return loss


def test_muon_owns_projections_and_adamw_the_rest_and_both_update():
    model = tiny_train_model(vocab_size=64)
    muon, adam, muon_names, adam_names = split_muon_params(model)
    assert muon_names and all(n.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight",
                                          "contrastive_hidden.weight", "contrastive_proj.weight")) for n in muon_names)
    for expected in ("model.shared.weight", "model.log_temp", "model.contrastive_hidden.bias"):
        assert expected in adam_names
    assert any("norm" in n for n in adam_names) and any("gate" in n for n in adam_names)
    assert not set(muon_names) & set(adam_names)
    assert len(muon) + len(adam) == len(list(model.parameters()))  # the tied lm_head is the embedding: counted once

    opt = build_muon_adamw(model, muon_lr=0.02, adam_lr=1e-2)
    assert isinstance(opt, torch.optim.Optimizer) and isinstance(opt.muon, torch.optim.Muon)
    assert isinstance(opt.adam, torch.optim.AdamW) and opt.adam.defaults["weight_decay"] == 0.0
    assert opt.adam.defaults["betas"] == (0.9, 0.95)
    owner = {id(p): "muon" for g in opt.muon.param_groups for p in g["params"]}
    owner.update({id(p): "adamw" for g in opt.adam.param_groups for p in g["params"]})
    named = dict(model.named_parameters())
    assert all(owner[id(named[n])] == "muon" for n in muon_names)
    assert all(owner[id(named[n])] == "adamw" for n in adam_names)

    before = {n: p.detach().clone() for n, p in named.items()}
    _loss(model).backward()
    opt.step()
    changed = {n for n, p in named.items() if not torch.equal(p, before[n])}
    assert set(muon_names) <= changed, set(muon_names) - changed
    assert set(adam_names) <= changed, set(adam_names) - changed


def test_facade_state_dict_and_scheduler_reach_both_parts():
    model = tiny_train_model(vocab_size=64)
    opt = build_muon_adamw(model, muon_lr=0.02, adam_lr=1e-3)
    assert [g["optimizer"] for g in opt.param_groups] == ["muon", "adamw"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5)
    assert opt.muon.param_groups[0]["lr"] == pytest.approx(0.01)
    assert opt.adam.param_groups[0]["lr"] == pytest.approx(5e-4)
    _loss(model).backward()
    opt.step()
    sched.step()
    state = copy.deepcopy(opt.state_dict())  # torch state dicts hold references to the live tensors
    assert set(state) == {"muon", "adamw"} and state["muon"]["state"] and state["adamw"]["state"]

    model2 = tiny_train_model(vocab_size=64)
    model2.load_state_dict(model.state_dict())
    opt2 = build_muon_adamw(model2, muon_lr=0.02, adam_lr=1e-3)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda step: 0.5)
    opt2.load_state_dict(state)
    sched2.load_state_dict(sched.state_dict())
    # after loading, the facade exposes the inner optimizers' (new) group dicts: the scheduler still reaches both
    assert opt2.param_groups[0] is opt2.muon.param_groups[0] and opt2.param_groups[1] is opt2.adam.param_groups[0]
    for o in (opt, opt2):
        for g in o.param_groups:
            g["lr"] = 0.0
    with pytest.raises(ValueError, match="not a MuonAdamW state dict"):
        opt2.load_state_dict({"state": {}, "param_groups": []})
    # same momentum state: one more identical step gives identical weights
    opt.zero_grad()
    torch.manual_seed(1)
    _loss(model).backward()
    torch.manual_seed(1)
    _loss(model2).backward()
    for o in (opt, opt2):
        for g in o.param_groups:
            g["lr"] = 1e-3 if g["optimizer"] == "adamw" else 0.02
    opt.step()
    opt2.step()
    for (n, p), p2 in zip(model.named_parameters(), model2.parameters()):
        assert torch.allclose(p, p2), n


def test_wsd_schedule():
    f = wsd_lambda(100, warmup=0.1, decay=0.2, min_ratio=0.05)
    assert f.phases == (10, 70, 20)
    assert f(0) == pytest.approx(0.1)  # the first step already trains (the reference's lr is 0 at step 0)
    assert f(9) == 1.0 and f(10) == 1.0 and f(79) == 1.0
    assert 0.05 < f(85) < 1.0 and f(99) == pytest.approx(0.05)
    assert all(f(i) >= f(i + 1) for i in range(10, 99))
    assert wsd_lambda(1)(0) > 0 and wsd_lambda(2, 0.5, 0.5).phases == (1, 0, 1)
    g = wsd_lambda(10, warmup=3, decay=0)
    assert g.phases == (3, 7, 0) and g(9) == 1.0
    model = tiny_train_model(vocab_size=64)
    opt = MuonAdamW(*split_muon_params(model)[:2], muon_lr=0.02, adam_lr=1e-3)
    sched = wsd_schedule(opt, 20)
    lrs = []
    for _ in range(20):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    assert lrs[0][0] > 0 and lrs[0][1] > 0
    assert lrs[-1][0] == pytest.approx(0.02 * 0.05) and lrs[-1][1] == pytest.approx(1e-3 * 0.05)


# ---------------------------------------------------------------------------------------------- QAT
@pytest.mark.parametrize("bits, levels", [(4, 16), (8, 256)])
def test_fake_quant_levels_per_group(bits, levels):
    torch.manual_seed(0)
    w = torch.randn(6, 80)  # 80 = 2 full groups of 32 + a padded group of 16
    q = fake_quantize(w, bits=bits, group_size=32)
    assert q.shape == w.shape
    for start in (0, 32, 64):
        g, qg = w[:, start:start + 32], q[:, start:start + 32]
        for row, qrow in zip(g, qg):
            assert len(torch.unique(qrow)) <= levels
            scale = row.abs().max() / (7 if bits == 4 else 127)
            assert (qrow - row).abs().max() <= scale / 2 + 1e-6
            assert torch.allclose(torch.round(qrow / scale), qrow / scale, atol=1e-4)


def test_fake_quant_forward_is_quantised_and_gradient_is_straight_through():
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 8, bias=False)
    x = torch.randn(5, 64)
    upstream = torch.randn(5, 8)
    ref = lin.weight.grad
    (lin(x) * upstream).sum().backward()
    grad_full = lin.weight.grad.clone()
    lin.weight.grad = ref
    model = torch.nn.Sequential()
    model.add_module("q_proj", lin)
    names = attach_fake_quant(model)
    assert names == ["q_proj"] and isinstance(lin, FakeQuantLinear)
    assert list(model.state_dict()) == ["q_proj.weight"]  # checkpoints unchanged
    set_fake_quant(model, 4)
    y = lin(x)
    assert torch.allclose(y, x @ fake_quantize(lin.weight, 4).T, atol=1e-5)
    assert not torch.allclose(y, x @ lin.weight.T, atol=1e-5)
    (y * upstream).sum().backward()
    assert torch.allclose(lin.weight.grad, grad_full, atol=1e-5)  # STE: dL/dW = upstream^T x, as unquantised
    with fake_quant(model, bits=8):
        assert lin.fake_quant_bits == 8
    assert lin.fake_quant_bits == 4


def test_fake_quant_callback_schedule_and_int4_eval_context():
    model = tiny_train_model(vocab_size=64)
    cb = FakeQuantCallback(every=100)

    class State:
        global_step = 0

    state = State()
    cb.on_train_begin(None, state, None, model=model)
    quantised = [m for m in model.modules() if isinstance(m, FakeQuantLinear)]
    assert quantised and len(quantised) == 4 * (1 + 2)  # q/k/v/o of encoder self-attn + decoder self/cross-attn
    for step, expected in [(0, None), (1, None), (100, 4), (200, 4), (201, None)]:
        state.global_step = step
        cb.on_step_begin(None, state, None, model=model)
        assert {m.fake_quant_bits for m in quantised} == {expected}
        cb.on_step_end(None, state, None, model=model)
        assert {m.fake_quant_bits for m in quantised} == {None}
    assert cb.active_steps == 2
    always = FakeQuantCallback(every=1)
    state.global_step = 0
    always.on_step_begin(None, state, None, model=model)
    assert {m.fake_quant_bits for m in quantised} == {4}
    cb.on_train_end(None, state, None, model=model)
    assert not any(isinstance(m, FakeQuantLinear) for m in model.modules())
    ids = torch.randint(6, 64, (2, 9))
    full = model(input_ids=ids, decoder_input_ids=torch.ones(2, 3, dtype=torch.long)).logits
    with fake_quant(model, bits=4):
        q4 = model(input_ids=ids, decoder_input_ids=torch.ones(2, 3, dtype=torch.long)).logits
    again = model(input_ids=ids, decoder_input_ids=torch.ones(2, 3, dtype=torch.long)).logits
    assert not torch.allclose(full, q4) and torch.equal(full, again)
    assert math.isfinite(float(q4.detach().sum()))


def test_contrastive_loss_is_finite_and_decreases_on_a_toy():
    torch.manual_seed(0)
    model = tiny_train_model(vocab_size=64).train()
    queries = torch.randint(6, 64, (6, 8))
    tools = torch.randint(6, 64, (6, 10))
    opt = build_muon_adamw(model, muon_lr=0.02, adam_lr=1e-2)
    losses = []
    for _ in range(30):
        loss = clip_loss(model.encode_contrastive(queries), model.encode_contrastive(tools), model.model.log_temp)
        assert torch.isfinite(loss)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < losses[0] * 0.7 and min(losses[-5:]) < min(losses[:5]), losses
    model.model.log_temp.data.fill_(50.0)  # clamped at ln 100: still finite
    assert torch.isfinite(clip_loss(model.encode_contrastive(queries), model.encode_contrastive(tools),
                                    model.model.log_temp))
