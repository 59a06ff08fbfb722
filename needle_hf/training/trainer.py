"""``NeedleTrainer``: ``Seq2SeqTrainer`` with Needle's loss, Muon+AdamW, the WSD schedule, QAT and safety checks.

Loss of one optimizer step (spec §4.3, with the reference's quirks fixed)::

    text  = Σ_t w[class_t] · CE_t  /  Σ_t w[class_t]          (sums over every target token of the step)
    z     = 1e-4 · Σ_t logsumexp(logits_t)²  /  #target tokens  (real tokens only, never padding)
    clip  = 0.1 · ½ (CE(q·tᵀ/τ, diag) + CE(t·qᵀ/τ, diag))      (only every ``contrastive_every`` steps)
    loss  = text + z + clip,      τ = exp(clamp(log_temp, -ln 100, ln 100))

**Normalisation: by the sum of token weights over the whole step** (all gradient-accumulation micro-batches and all
processes), not by the token count as the reference does (§10.5). Dividing a weighted sum by the token count lets the
class weights also scale the effective learning rate (a batch full of argument values gets ~4x the step of a batch of
JSON glue); dividing by Σ weights makes the loss a weighted *mean*: the weights only redistribute credit between tokens
and the loss stays comparable across batches, class mixes and weight settings. Normalising over the *accumulated*
batch, not per micro-batch, makes gradient accumulation exact: k micro-batches give the same gradient as one batch k
times larger. Mechanics: :meth:`NeedleTrainer.get_batch_samples` sums the weights (and token counts) of the micro-batches
of the step and all-reduces them across processes; ``compute_loss`` divides each micro-batch's weighted sum by that
total and multiplies by the number of processes (DDP averages gradients); ``loss_is_scaled_for_ga = True`` tells the
Trainer not to divide by the accumulation steps again (hf-conventions §3). The contrastive term is a per-micro-batch
mean, divided by the number of micro-batches of the step.

Contrastive pairs come from the collator (one (query, called tool) pair per example, in-batch negatives). The
reference runs it 1 step in 1000 (§4.4, §10.4); a few-thousand-step CPU run would then see it a handful of times, so
the default here is every 10 steps (``contrastive_every``; 1 = every step, 0 = never). The contrastive encoder pass goes
through the wrapped model's ``forward`` (a forward hook adds the embeddings to its output), so DDP sees the
contrastive parameters as used on those steps and unused on the others.

Evaluation: ``eval_loss`` is the plain token-mean CE (no weights, no z-loss, like the reference's val loss) and, with
``eval_quant_bits`` (default 4), ``eval_loss_int4`` is the same loss with fake-quantised attention projections.

Safety: a non-finite loss or gradient norm raises :class:`NonFiniteLossError` before the optimizer step, so no
checkpoint with NaN weights is ever written.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback
from transformers.modeling_outputs import Seq2SeqLMOutput

from needle_hf.modeling.modeling_needle import shift_tokens_right

from .collator import CONTRASTIVE_KEYS, EXTRA_KEYS
from .features import DEFAULT_CLASS_WEIGHTS
from .optim import build_muon_adamw, wsd_schedule
from .quant import FakeQuantCallback, fake_quant

logger = logging.getLogger(__name__)

LN100 = math.log(100.0)

__all__ = ["NeedleTrainingArguments", "NeedleTrainer", "NonFiniteLossError", "clip_loss", "weighted_token_loss"]


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/inf loss or gradient; raised before the optimizer step (no broken checkpoint)."""


@dataclass
class NeedleTrainingArguments(Seq2SeqTrainingArguments):
    """``Seq2SeqTrainingArguments`` + Needle's knobs. Defaults follow the reference post-training recipe (spec §4.5)
    except where the module docstrings say why not.

    ``lr_scheduler_type="wsd"`` (default) is the warmup-stable-decay schedule: ``warmup_steps`` (ratio < 1 or steps)
    linear warmup, constant, cosine ``decay_ratio`` decay to ``min_lr_ratio`` × peak. ``learning_rate`` is the AdamW lr;
    ``muon_lr`` the Muon lr (``use_muon=False``: plain AdamW for everything, e.g. under FSDP).
    """

    # schedule / optimizer
    lr_scheduler_type: str = field(default="wsd", metadata={"help": "'wsd' or any transformers scheduler name"})
    warmup_steps: float = field(default=0.05, metadata={"help": "warmup: ratio of total steps (< 1) or steps"})
    decay_ratio: float = field(default=0.05, metadata={"help": "WSD decay: ratio of total steps (< 1) or steps"})
    min_lr_ratio: float = field(default=0.05, metadata={"help": "WSD final lr as a fraction of the peak"})
    learning_rate: float = field(default=3e-5, metadata={"help": "AdamW lr (embedding, norms, gates, log_temp)"})
    adam_beta2: float = field(default=0.95)
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay (reference: 0)"})
    use_muon: bool = field(default=True, metadata={"help": "Muon for attention projections (else AdamW only)"})
    muon_lr: float = field(default=0.02)
    muon_weight_decay: float = field(default=0.01)
    muon_adjust_lr_fn: str = field(default="original", metadata={"help": "'original' or 'match_rms_adamw'"})
    # losses
    class_weights: tuple = field(default=DEFAULT_CLASS_WEIGHTS,
                                 metadata={"help": "loss weight per token class (structure, name, value, key)"})
    decision_weight: float = field(default=1.0, metadata={
        "help": "loss weight of the first answer token, where the model decides between `[]` (no call) and a call; "
                "multiplies its class weight (1 = the reference's weighting)"})
    z_loss_weight: float = field(default=1e-4)
    contrastive_weight: float = field(default=0.1)
    contrastive_every: int = field(default=10, metadata={"help": "contrastive loss every N steps (0 = never)"})
    # QAT
    qat_every: int = field(default=100, metadata={"help": "fake-quant forward every N steps (1 = always, 0 = off)"})
    qat_bits: int = field(default=4)
    qat_group_size: int = field(default=32)
    eval_quant_bits: int = field(default=4, metadata={"help": "also report eval loss with INTn fake quant (0 = off)"})
    # safety / data
    stop_on_nonfinite_loss: bool = field(default=True)
    remove_unused_columns: bool = field(default=False)
    report_to: str | list[str] | None = field(default="none")

    def __post_init__(self):
        wsd = str(self.lr_scheduler_type) == "wsd"
        if wsd:  # not a transformers SchedulerType: validate the rest with a placeholder, then restore
            self.lr_scheduler_type = "constant"
        self.class_weights = tuple(float(w) for w in self.class_weights)
        if len(self.class_weights) != 4:
            raise ValueError(f"class_weights needs 4 values (structure, name, value, key), got {self.class_weights}")
        if not self.decision_weight > 0:
            raise ValueError(f"decision_weight must be > 0, got {self.decision_weight}")
        super().__post_init__()
        if wsd:
            self.lr_scheduler_type = "wsd"
        if self.remove_unused_columns:
            raise ValueError("NeedleTrainer needs remove_unused_columns=False (token classes and contrastive pairs "
                             "are extra columns)")


# ---------------------------------------------------------------------------------------------- loss pieces
def weighted_token_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor):
    """Per-batch sums: (Σ w·CE, Σ lse² over real tokens, Σ w, #tokens). ``weights`` is 0 where labels == -100."""
    logits = logits.float()
    mask = labels != -100
    lse = torch.logsumexp(logits, dim=-1)
    target = logits.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    nll = (lse - target) * mask
    w = weights * mask
    return (nll * w).sum(), (lse.square() * mask).sum(), w.sum(), mask.sum()


def clip_loss(query_emb: torch.Tensor, tool_emb: torch.Tensor, log_temp: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over in-batch pairs (spec §4.3); embeddings are unit vectors."""
    temp = torch.exp(torch.clamp(log_temp.float(), -LN100, LN100))
    logits = query_emb.float() @ tool_emb.float().T / temp
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _needle_module(model):
    """The NeedleForConditionalGeneration inside ``model`` (itself, or the base model of a PEFT wrapper)."""
    for m in model.modules():  # class-level check: PEFT wrappers forward attribute access to the base model
        if getattr(type(m), "encode_contrastive", None) is not None and "lm_head" in m._modules:
            return m
    raise TypeError("NeedleTrainer needs a NeedleForConditionalGeneration (or a PEFT model wrapping one)")


@dataclass
class NeedleTrainingOutput(Seq2SeqLMOutput):
    """``Seq2SeqLMOutput`` + the contrastive embeddings of a contrastive training step."""

    contrastive_query_embeds: torch.FloatTensor | None = None
    contrastive_tool_embeds: torch.FloatTensor | None = None
    contrastive_log_temp: torch.FloatTensor | None = None


def _contrastive_hook(module, args, kwargs, output):
    """Forward hook: with ``needle_contrastive`` in the kwargs, add query/tool embeddings to the output (so the pass
    is part of the wrapped forward; DDP then tracks the contrastive parameters)."""
    pairs = kwargs.get("needle_contrastive")
    if pairs is None:
        return None
    q_ids, q_mask, t_ids, t_mask = (pairs[k] for k in CONTRASTIVE_KEYS)
    n, width = q_ids.shape[0], max(q_ids.shape[1], t_ids.shape[1])
    ids = torch.cat([F.pad(q_ids, (0, width - q_ids.shape[1])), F.pad(t_ids, (0, width - t_ids.shape[1]))])
    mask = torch.cat([F.pad(q_mask, (0, width - q_mask.shape[1])), F.pad(t_mask, (0, width - t_mask.shape[1]))])
    emb = module.encode_contrastive(ids, mask)
    # A declared output class (not extra dict keys): DDP rebuilds the output as type(output)(**fields).
    # log_temp goes through the output too: DDP must see every parameter the loss uses inside forward()
    return NeedleTrainingOutput(**dict(output.items()), contrastive_query_embeds=emb[:n],
                                contrastive_tool_embeds=emb[n:], contrastive_log_temp=module.model.log_temp * 1.0)


class _EpochCallback(TrainerCallback):
    """Tells the collator which epoch starts (the per-example augmentation RNG depends on it)."""

    def __init__(self, collator):
        self.collator = collator

    def on_epoch_begin(self, args, state, control, **kwargs):
        if hasattr(self.collator, "set_epoch"):
            self.collator.set_epoch(int(math.floor((state.epoch or 0.0) + 1e-6)))


class NeedleTrainer(Seq2SeqTrainer):
    """Seq2SeqTrainer for Needle (see the module docstring). Pass ``args=NeedleTrainingArguments(...)``.

    The training collator must return ``labels`` and ``token_classes`` (and optionally the contrastive keys), e.g.
    :class:`~needle_hf.training.collator.NeedleCollator`; use ``eval_collator`` for evaluation batches. A
    :class:`~needle_hf.training.quant.FakeQuantCallback` is added when ``args.qat_every > 0``.
    """

    loss_is_scaled_for_ga = True

    def __init__(self, *args, eval_collator=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, NeedleTrainingArguments):
            raise TypeError("NeedleTrainer needs args=NeedleTrainingArguments(...)")
        self.eval_collator = eval_collator
        self._needle = _needle_module(self.model)
        old = getattr(self._needle, "_needle_contrastive_hook", None)
        if old is not None:  # a second trainer on the same model: one hook only
            old.remove()
        self._needle._needle_contrastive_hook = self._needle.register_forward_hook(_contrastive_hook,
                                                                                 with_kwargs=True)
        self.add_callback(_EpochCallback(self.data_collator))
        if self.args.qat_every and self.args.qat_every > 0:
            self.add_callback(FakeQuantCallback(every=self.args.qat_every, bits=self.args.qat_bits,
                                                group_size=self.args.qat_group_size))
        self._components: dict[str, torch.Tensor] = {}
        self._components_since = 0
        self.contrastive_steps = 0

    # -- data ----------------------------------------------------------------------------------------------------
    def get_eval_dataloader(self, eval_dataset=None):
        if self.eval_collator is None:
            return super().get_eval_dataloader(eval_dataset)
        collator, self.data_collator = self.data_collator, self.eval_collator
        try:
            return super().get_eval_dataloader(eval_dataset)
        finally:
            self.data_collator = collator

    def get_test_dataloader(self, test_dataset):
        if self.eval_collator is None:
            return super().get_test_dataloader(test_dataset)
        collator, self.data_collator = self.data_collator, self.eval_collator
        try:
            return super().get_test_dataloader(test_dataset)
        finally:
            self.data_collator = collator

    def _class_weights(self, device) -> torch.Tensor:
        return torch.tensor(self.args.class_weights, dtype=torch.float32, device=device)

    def _token_weights(self, labels: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        """Loss weight of every label position (0 on padding): its class weight, and for tool-call rows
        ``decision_weight`` on position 1, the first answer token after ``<tool_call>`` (``[]`` or ``[{"``), the one
        token that decides between no call and a call (one structure token against ~20 weighted call tokens)."""
        if classes is None:  # plain text (pretraining): every token weighs 1
            return torch.ones(labels.shape, dtype=torch.float32, device=labels.device) * (labels != -100)
        w = self._class_weights(labels.device)[classes.long().clamp(0, 3)]
        if self.args.decision_weight != 1.0 and labels.shape[-1] > 1:
            w[..., 1] *= self.args.decision_weight
        return w * (labels != -100)

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """Collect the step's micro-batches and the step-wide normalisers: a tensor ``[Σ token weights, #tokens]``
        over all micro-batches and all processes (passed to ``compute_loss`` as ``num_items_in_batch``)."""
        batch_samples, _ = super().get_batch_samples(epoch_iterator, num_batches, device)
        totals = torch.zeros(2, dtype=torch.float64, device=device)
        for b in batch_samples:
            if "labels" in b:
                totals[0] += self._token_weights(b["labels"], b.get("token_classes")).sum().to(device, torch.float64)
                totals[1] += (b["labels"] != -100).sum().to(device, torch.float64)
        if self.accelerator.num_processes > 1:
            totals = self.accelerator.reduce(totals, reduction="sum")
        return batch_samples, totals

    # -- optimizer / schedule --------------------------------------------------------------------------------------
    def create_optimizer(self, model=None):
        if self.optimizer is None and self.args.use_muon:
            opt_model = self.model if model is None else model
            self.optimizer = build_muon_adamw(
                opt_model, muon_lr=self.args.muon_lr, adam_lr=self.args.learning_rate,
                muon_weight_decay=self.args.muon_weight_decay, betas=(self.args.adam_beta1, self.args.adam_beta2),
                eps=self.args.adam_epsilon, adam_weight_decay=self.args.weight_decay,
                adjust_lr_fn=self.args.muon_adjust_lr_fn)
            return self.optimizer
        return super().create_optimizer(model)

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.lr_scheduler is None and str(self.args.lr_scheduler_type) == "wsd":
            optimizer = optimizer if optimizer is not None else self.optimizer
            self.lr_scheduler = wsd_schedule(optimizer, num_training_steps, warmup=self.args.warmup_steps,
                                             decay=self.args.decay_ratio, min_ratio=self.args.min_lr_ratio)
            self._created_lr_scheduler = True
            return self.lr_scheduler
        return super().create_scheduler(num_training_steps, optimizer)

    # -- loss --------------------------------------------------------------------------------------------------------
    def _contrastive_due(self) -> bool:
        every = self.args.contrastive_every
        return bool(every) and every > 0 and self.args.contrastive_weight > 0 and self.state.global_step % every == 0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        classes = inputs.pop("token_classes", None)
        pairs = {k: inputs.pop(k) for k in CONTRASTIVE_KEYS if k in inputs}
        for k in EXTRA_KEYS:
            inputs.pop(k, None)
        if not model.training:  # evaluation: plain token-mean CE (the model's own loss), like the reference val loss
            outputs = model(**inputs, labels=labels)
            return (outputs.loss, outputs) if return_outputs else outputs.loss

        do_clip = bool(pairs) and self._contrastive_due()
        if do_clip:
            inputs["needle_contrastive"] = pairs
        cfg = self._needle.config  # shift ourselves: passing labels would make the model compute an unused CE
        inputs["decoder_input_ids"] = shift_tokens_right(labels, cfg.pad_token_id, cfg.decoder_start_token_id)
        outputs = model(**inputs)
        weights = self._token_weights(labels, classes)
        wce, lse2, wsum, ntok = weighted_token_loss(outputs.logits, labels, weights)
        if num_items_in_batch is not None and torch.is_tensor(num_items_in_batch) and num_items_in_batch.numel() == 2:
            scale = float(self.accelerator.num_processes)  # DDP averages gradients over processes
            w_total = num_items_in_batch[0].to(wce.dtype).clamp(min=1e-8)
            n_total = num_items_in_batch[1].to(wce.dtype).clamp(min=1.0)
            micro = 1.0 / max(1, getattr(self, "current_gradient_accumulation_steps", 1))
        else:  # called outside the training loop: normalise by this batch alone
            scale, w_total, n_total, micro = 1.0, wsum.clamp(min=1e-8), ntok.clamp(min=1).float(), 1.0
        text = wce / w_total * scale
        z = self.args.z_loss_weight * lse2 / n_total * scale
        loss = text + z
        clip = None
        if do_clip and outputs.get("contrastive_query_embeds") is not None:
            clip = clip_loss(outputs["contrastive_query_embeds"], outputs["contrastive_tool_embeds"],
                             outputs["contrastive_log_temp"])
            loss = loss + self.args.contrastive_weight * clip * micro
            self.contrastive_steps += 1
        self._track(text=text.detach(), z_loss=z.detach(),
                    contrastive=(self.args.contrastive_weight * clip * micro).detach() if clip is not None else None)
        if self.args.stop_on_nonfinite_loss and not torch.isfinite(loss.detach()).all():
            parts = f"text {text.item():.4g}, z {z.item():.4g}" + (f", contrastive {clip.item():.4g}" if clip is not
                                                                    None else "")
            raise NonFiniteLossError(
                f"non-finite training loss ({loss.item()}) at step {self.state.global_step} ({parts}); training was "
                "stopped before the optimizer step, so no checkpoint with broken weights was written. Lower the "
                "learning rate (learning_rate / muon_lr), keep max_grad_norm at 1.0, or resume from the last "
                "checkpoint.")
        return (loss, outputs) if return_outputs else loss

    def _get_grad_norm(self, model, grad_norm=None):
        norm = super()._get_grad_norm(model, grad_norm=grad_norm)
        value = float(norm) if norm is not None else 0.0
        if self.args.stop_on_nonfinite_loss and not math.isfinite(value):
            raise NonFiniteLossError(
                f"non-finite gradient norm ({value}) at step {self.state.global_step}; training was stopped before "
                "the optimizer step, so no checkpoint with broken weights was written. Lower the learning rate or "
                "resume from the last checkpoint.")
        return norm

    # -- logging -----------------------------------------------------------------------------------------------------
    def _track(self, **parts) -> None:
        for k, v in parts.items():
            if v is None:
                continue
            self._components[k] = self._components.get(k, torch.zeros((), device=v.device)) + v.float()

    def log(self, logs: dict, start_time=None) -> None:
        if "loss" in logs and self._components:
            steps = max(1, self.state.global_step - self._components_since)
            keys = sorted(self._components)
            values = torch.stack([self._components[k] for k in keys])
            if self.accelerator.num_processes > 1:
                values = self.accelerator.reduce(values, reduction="mean")
            for k, v in zip(keys, values.tolist()):
                logs[k] = round(v / steps, 6)
            logs["temperature"] = round(float(torch.exp(torch.clamp(self._needle.model.log_temp.detach().float(),
                                                                      -LN100, LN100))), 6)
            self._components = {}
            self._components_since = self.state.global_step
        super().log(logs, start_time)

    # -- evaluation --------------------------------------------------------------------------------------------------
    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval", **gen_kwargs):
        metrics = super().evaluate(eval_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix,
                                   **gen_kwargs)
        bits = self.args.eval_quant_bits
        if bits:
            loss = self.quantized_eval_loss(eval_dataset, bits=bits)
            if loss is not None:
                extra = {f"{metric_key_prefix}_loss_int{bits}": loss}
                metrics.update(extra)
                self.log(extra)
        return metrics

    @torch.no_grad()
    def quantized_eval_loss(self, eval_dataset=None, bits: int = 4) -> float | None:
        """Token-mean CE over the eval set with INT``bits`` fake-quantised attention projections (full precision
        again afterwards). Summed over processes."""
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if dataset is None:
            return None
        dataloader = self.get_eval_dataloader(dataset)
        model = self.model  # unwrapped under DDP (no collectives in this loop), the sharded module under FSDP
        was_training = model.training
        model.eval()
        totals = torch.zeros(2, dtype=torch.float64, device=self.args.device)
        with fake_quant(self._needle, bits=bits, group_size=self.args.qat_group_size):
            for batch in dataloader:
                batch = self._prepare_inputs(batch)
                labels = batch["labels"]
                out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels)
                n = (labels != -100).sum()
                totals[0] += out.loss.double() * n
                totals[1] += n
        if self.accelerator.num_processes > 1:
            totals = self.accelerator.reduce(totals, reduction="sum")
        model.train(was_training)
        return round(float(totals[0] / totals[1].clamp(min=1)), 6)

    # -- saving ------------------------------------------------------------------------------------------------------
    def _save(self, output_dir=None, state_dict=None):
        super()._save(output_dir, state_dict)
        if self.args.should_save and self.processing_class is not None:
            import os

            from needle_hf.tokenization import make_tokenizer_config_portable

            folder = output_dir if output_dir is not None else self.args.output_dir
            if os.path.exists(os.path.join(folder, "tokenizer_config.json")):
                make_tokenizer_config_portable(folder)
