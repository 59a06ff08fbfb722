"""NeedleTrainer and the recipes on a tiny config: loss decreases, exact gradient accumulation, NaN stop, resume,
CLI train / pretrain / finetune, saved folders load."""
from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM, TrainerCallback

from needle_hf.cli import main as cli_main
from needle_hf.training.collator import NeedleCollator
from needle_hf.training.features import prepare_rows
from needle_hf.training.recipes import train, weights_checksum
from needle_hf.training.trainer import NeedleTrainer, NeedleTrainingArguments, NonFiniteLossError

from .helpers_training import TINY_TRAIN, make_rows, tiny_tokenizer, tiny_train_model


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared: oversubscribed threads are much slower than one
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    torch.set_num_threads(n)


QUIET = dict(disable_tqdm=True, use_cpu=True, report_to="none", logging_steps=5)


def _texts(trainer, key="text"):
    return [h[key] for h in trainer.state.log_history if key in h]


def test_loss_decreases_and_everything_runs(tmp_path):
    """~40 steps of needle-tiny-like training: loss falls, contrastive + QAT steps run, the folder loads."""
    torch.manual_seed(0)
    result = train(make_rows(160), tmp_path / "run", model=tiny_train_model(), tokenizer=tiny_tokenizer(),
                   eval_data=make_rows(16, seed=9), learning_rate=3e-3, max_steps=40, batch_size=8,
                   contrastive_every=4, qat_every=5, save_steps=40, **QUIET)
    texts = _texts(result.trainer)
    assert texts[-1] < 0.6 * texts[0], texts
    assert result.train_metrics["global_step"] == 40 and result.train_metrics["contrastive_steps"] == 10
    clip = _texts(result.trainer, "contrastive")
    assert clip and all(c == c and c < 10 for c in clip)  # finite
    assert "eval_loss" in result.eval_metrics and "eval_loss_int4" in result.eval_metrics
    assert result.eval_metrics["eval_loss_int4"] >= 0 and result.eval_metrics["eval_loss"] < texts[0]
    out = tmp_path / "run"
    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                 "modeling_needle.py", "configuration_needle.py", "training_summary.json", "checkpoint-40"):
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert config["auto_map"]["AutoModelForSeq2SeqLM"] == "modeling_needle.NeedleForConditionalGeneration"
    loaded = AutoModelForSeq2SeqLM.from_pretrained(out)
    assert weights_checksum(loaded) == weights_checksum(result.trainer.model)
    assert not any(type(m).__name__ == "FakeQuantLinear" for m in loaded.modules())


def _trainer(tmp_path, ga, batch, rows, **kw):
    tok = tiny_tokenizer()
    torch.manual_seed(0)
    model = tiny_train_model()
    args = NeedleTrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=batch,
                                   gradient_accumulation_steps=ga, contrastive_every=0, qat_every=0, **QUIET, **kw)
    ds = prepare_rows(rows, tok).dataset
    return NeedleTrainer(model=model, args=args, train_dataset=ds, data_collator=NeedleCollator(tok, seed=3)), ds


def test_gradient_accumulation_is_exact(tmp_path):
    """One batch of 8 == 2 micro-batches of 4: the loss is normalised by the step's total token weight."""
    rows = make_rows(8, seed=11)
    grads = []
    for ga, micro in ((1, 8), (2, 4)):
        trainer, ds = _trainer(tmp_path / f"ga{ga}", ga, micro, rows)
        batches = [trainer.data_collator([ds[i] for i in range(j, j + micro)]) for j in range(0, 8, micro)]
        samples, totals = trainer.get_batch_samples(iter(batches), ga, torch.device("cpu"))
        trainer.current_gradient_accumulation_steps = ga
        trainer.model.train()
        total = 0.0
        for b in samples:
            loss = trainer.compute_loss(trainer.model, dict(b), num_items_in_batch=totals)
            loss.backward()
            total += loss.item()
        grads.append(({n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}, total,
                      totals))
    (g1, l1, t1), (g2, l2, t2) = grads
    assert torch.allclose(t1, t2) and l1 == pytest.approx(l2, rel=1e-5)
    assert g1.keys() == g2.keys()
    for n in g1:
        assert torch.allclose(g1[n], g2[n], atol=1e-6, rtol=1e-4), n
    # weighted mean: scaling every class weight by 2 leaves the loss unchanged (weights only redistribute credit)
    losses = []
    for weights in ((1.0, 1.0, 1.0, 1.0), (2.0, 2.0, 2.0, 2.0)):
        trainer, ds = _trainer(tmp_path / f"w{weights[0]}", 1, 8, rows, class_weights=weights)
        b = trainer.data_collator([ds[i] for i in range(8)])
        _, totals = trainer.get_batch_samples(iter([b]), 1, torch.device("cpu"))
        trainer.model.train()
        losses.append(trainer.compute_loss(trainer.model, dict(b), num_items_in_batch=totals).item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and losses[0] != pytest.approx(l1, rel=1e-4)


class _PoisonAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == self.step:
            with torch.no_grad():
                model.model.shared.weight.fill_(float("nan"))


def test_nan_loss_stops_with_a_clear_message_before_a_broken_checkpoint(tmp_path):
    trainer, _ = _trainer(tmp_path, 1, 4, make_rows(40), max_steps=6, save_steps=1, learning_rate=1e-3)
    trainer.add_callback(_PoisonAt(2))
    with pytest.raises(NonFiniteLossError, match="non-finite training loss .* at step 2.*no checkpoint"):
        trainer.train()
    saved = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("checkpoint-"))
    # checkpoint-2 was written before the poisoned step ran; nothing after it
    assert saved == ["checkpoint-1", "checkpoint-2"]


class _Crash(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 7:
            raise KeyboardInterrupt("simulated interruption")


class _Steps(TrainerCallback):
    def __init__(self):
        self.steps = []

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


def test_interrupted_run_resumes_to_the_same_step_and_weights(tmp_path, monkeypatch):
    rows, tok = make_rows(96, seed=2), tiny_tokenizer()
    common = dict(tokenizer=tok, learning_rate=3e-3, max_steps=10, batch_size=8, save_steps=5, contrastive_every=3,
                  qat_every=4, seed=7, save_final=False, **QUIET)
    torch.manual_seed(0)
    straight = train(rows, tmp_path / "straight", model=tiny_train_model(), **common)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        train(rows, tmp_path / "crashed", model=tiny_train_model(), callbacks=[_Crash()], **common)
    assert sorted(p.name for p in (tmp_path / "crashed").iterdir() if p.name.startswith("checkpoint")) == \
        ["checkpoint-5"]
    with pytest.raises(ValueError, match="no checkpoint"):
        train(rows, tmp_path / "empty", model=tiny_train_model(), resume=True, **common)
    ran = _Steps()
    # the resume reuses the features prepared by the first run (output_dir/prepared): no second tokenisation
    from needle_hf.training import features

    def no_tokenising(*args, **kwargs):
        raise AssertionError("features prepared again on resume")
    monkeypatch.setattr(features, "prepare_rows", no_tokenising)
    resumed = train(rows, tmp_path / "crashed", resume=True, callbacks=[ran], **common)  # model+tokenizer: ckpt-5
    assert resumed.trainer.state.global_step == 10 and ran.steps == [6, 7, 8, 9, 10]
    assert weights_checksum(resumed.trainer.model) == weights_checksum(straight.trainer.model)


def test_cli_train_pretrain_and_rejections(tmp_path, capsys):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in make_rows(48, seed=6)), encoding="utf-8")
    tok_dir = tmp_path / "tok"
    tiny_tokenizer().save_pretrained(tok_dir)
    config = json.dumps({k: v for k, v in TINY_TRAIN.items()})
    out = tmp_path / "cli_run"
    common = ["--output-dir", str(out), "--max-steps", "4", "--batch-size", "8", "--use-cpu", "--logging-steps", "2",
              "--save-steps", "2", "--qat-every", "2", "--contrastive-every", "2"]
    rc = cli_main(["train", str(data), "--preset", "needle-tiny", "--config", config, "--tokenizer", str(tok_dir),
                   "--group-by-length", *common])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "train: 4 steps" in printed and "train_kept 48" in printed
    model = AutoModelForSeq2SeqLM.from_pretrained(out)
    assert model.config.d_model == 32 and model.config.vocab_size == len(tiny_tokenizer())
    # --resume with a larger budget continues from checkpoint-4
    rc = cli_main(["train", str(data), "--preset", "needle-tiny", "--config", config, "--resume",
                   *common[:2], "--max-steps", "6", *common[4:]])
    assert rc == 0 and "train: 6 steps" in capsys.readouterr().out
    # a bad row is named before anything trains
    bad = tmp_path / "bad.jsonl"
    lines = data.read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps({"query": "x", "tools": "[]", "answers": "[{\"name\": \"nope\", \"arguments\": {}}]"})
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc = cli_main(["train", str(bad), "--preset", "needle-tiny", "--tokenizer", str(tok_dir),
                   "--output-dir", str(tmp_path / "bad_run")])
    err = capsys.readouterr().err
    assert rc == 2 and f"{bad}:3" in err and "unknown tool" in err
    assert not (tmp_path / "bad_run" / "checkpoint-1").exists()
    # pretraining on a .txt corpus
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(f"Document {i}: the weather in Paris is nice and the timer rings after {i} "
                                  "minutes, so send Anna a message." for i in range(20)), encoding="utf-8")
    rc = cli_main(["pretrain", str(corpus), "--preset", "needle-tiny", "--config", config, "--tokenizer",
                   str(tok_dir), "--output-dir", str(tmp_path / "pre"), "--max-steps", "3", "--batch-size", "4",
                   "--use-cpu", "--max-encoder-length", "24", "--max-decoder-length", "12"])
    assert rc == 0 and "pretrain: 3 steps" in capsys.readouterr().out
    summary = json.loads((tmp_path / "pre" / "training_summary.json").read_text())
    assert summary["data"]["texts"] == 20 and summary["data"]["chunks"] >= 20
    assert AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "pre").config.dropout == 0.0


def test_finetune_report(tmp_path):
    from needle_hf.training.recipes import finetune, save_final_model

    base = tmp_path / "base"
    torch.manual_seed(0)
    save_final_model(tiny_train_model(), tiny_tokenizer(), base)
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in make_rows(60, seed=8)), encoding="utf-8")
    assert AutoConfig.from_pretrained(base).copy_strings is False
    result = finetune(str(data), str(base), tmp_path / "ft", val_per_tool=2, test_per_tool=2, num_train_epochs=2,
                      batch_size=8, learning_rate=3e-3, eval_batch_size=16, copy_strings=True, **QUIET)
    report = json.loads((tmp_path / "ft" / "finetune_report.json").read_text())
    # copy_strings=True: both test evaluations ran in copy mode and the finetuned model keeps it as its default
    assert report["copy_strings"] and report["base"]["copy_strings"] and report["finetuned"]["copy_strings"]
    assert "Test split, constrained (copy mode) decoding" in (tmp_path / "ft" / "finetune_report.md").read_text()
    with pytest.raises(ValueError, match="copy mode .* is part of constrained decoding"):  # refused before any work
        finetune(str(data), str(base), tmp_path / "ft2", copy_strings=True, constrained_eval=False, **QUIET)
    assert not (tmp_path / "ft2").exists()
    assert AutoConfig.from_pretrained(tmp_path / "ft").copy_strings is True
    assert report["base"]["metrics"] and report["finetuned"]["metrics"]
    assert "call_f1" in report["finetuned"]["metrics"] and report["best_checkpoint"]
    assert report["data"]["test"] > 0 and report["data"]["validation"] > 0
    assert "| call_f1 |" in (tmp_path / "ft" / "finetune_report.md").read_text()
    assert result.trainer.state.best_metric is not None
    AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "ft")


def test_decision_weight_scales_only_the_first_answer_token(tmp_path):
    """--decision-weight multiplies the weight of label position 1 (`[]` vs `[{"`), and only there."""
    from needle_hf.training.features import TOOL_CALL_ID

    rows = make_rows(8, seed=5)
    rows[0] = {**rows[0], "answers": "[]"}  # a no-call row: its whole answer decision is that one token
    plain, ds = _trainer(tmp_path / "d1", 1, 8, rows)
    heavy, _ = _trainer(tmp_path / "d6", 1, 8, rows, decision_weight=6.0)
    b = plain.data_collator([ds[i] for i in range(8)])
    assert (b["labels"][:, 0] == TOOL_CALL_ID).all()
    w1 = plain._token_weights(b["labels"], b["token_classes"])
    w6 = heavy._token_weights(b["labels"], b["token_classes"])
    assert torch.equal(w6[:, 1], 6.0 * w1[:, 1]) and torch.equal(w6[:, 2:], w1[:, 2:])
    assert torch.equal(w6[:, 0], w1[:, 0]) and (w6[b["labels"] == -100] == 0).all()
    _, totals = heavy.get_batch_samples(iter([b]), 1, torch.device("cpu"))
    assert totals[0].item() == pytest.approx(w6.sum().item())
    with pytest.raises(ValueError, match="decision_weight"):
        NeedleTrainingArguments(output_dir=str(tmp_path), decision_weight=0)
