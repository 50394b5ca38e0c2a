"""The prepared corpus as a memory-mapped dataset, and the batch sampler that feeds distillation.

The sampler is the single source of truth for "where are we in the data": it is deterministic given
(seed, epoch), so a checkpoint only stores (epoch, position) and a resumed run sees exactly the batches the
uninterrupted run would have seen. Under DDP every rank builds the same epoch plan and takes every
world_size-th batch, so ranks never overlap and always run the same number of steps (DDP needs lockstep).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pocketbert.core.errors import PocketbertError

# Batches sorted together by length: big enough that padding is small, small enough that order stays random.
GROUP_BATCHES = 100


class PreparedData:
    """Read-only view of a `pocketbert prepare` output dir (memmaps: nothing is loaded until indexed)."""

    def __init__(self, data_dir: Path) -> None:
        from pocketbert.distill.prepare import load_meta

        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise PocketbertError(f"data dir {data_dir} does not exist; create it with `pocketbert prepare --out {data_dir}`")
        meta = load_meta(data_dir)
        if meta is None:
            raise PocketbertError(f"data dir {data_dir} has no valid meta.json; create it with `pocketbert prepare`")
        self.dir = data_dir
        self.meta = meta
        self.tokens = np.memmap(data_dir / "tokens.bin", dtype=np.dtype(meta["dtype"]), mode="r")
        self.offsets = np.memmap(data_dir / "offsets.bin", dtype=np.int64, mode="r")
        if len(self.offsets) != meta["n_sequences"] + 1 or int(self.offsets[-1]) != len(self.tokens):
            raise PocketbertError(f"data dir {data_dir} is inconsistent (offsets vs tokens); re-run `pocketbert prepare --force`")
        self.lengths = np.diff(self.offsets).astype(np.int32)  # (n,) small: 4 bytes per sequence

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(self.tokens[self.offsets[i]:self.offsets[i + 1]], dtype=np.int64)

    def counts(self) -> np.ndarray:
        return np.load(self.dir / "counts.npy", allow_pickle=False)

    def collate(self, indices: list[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(input_ids, attention_mask), both (bs, longest in batch), right-padded with `pad_id`."""
        seqs = [self[i] for i in indices]
        width = max(len(s) for s in seqs)
        ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for row, s in enumerate(seqs):
            ids[row, :len(s)] = s
            mask[row, :len(s)] = 1
        return torch.from_numpy(ids), torch.from_numpy(mask)


@dataclass
class SamplerState:
    epoch: int = 0
    position: int = 0  # batches of this rank already consumed in `epoch`


class GroupedBatchSampler:
    """Length-grouped, shuffled, distributed-aware, resumable batches of dataset indices."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 group_by_length: bool = True, indices: np.ndarray | None = None) -> None:
        self.lengths = lengths
        # The sequences this sampler may draw (all by default; the training side of a held-out split otherwise).
        self.indices = np.arange(len(lengths)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.group_by_length = group_by_length
        self.state = SamplerState()
        self._plan: list[np.ndarray] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's shuffle (call every epoch: without it every epoch repeats epoch 0's order)."""
        if epoch != self.state.epoch:  # same epoch = resuming inside it: keep the position
            self.state = SamplerState(epoch, 0)
            self._plan = None

    def _epoch_plan(self) -> list[np.ndarray]:
        if self._plan is None:
            rng = np.random.default_rng([self.seed, self.state.epoch])
            perm = self.indices[rng.permutation(len(self.indices))]  # (n,)
            batches: list[np.ndarray] = []
            group = self.batch_size * GROUP_BATCHES
            for start in range(0, len(perm), group):
                chunk = perm[start:start + group]
                if self.group_by_length:
                    chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                batches.extend(chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
            order = rng.permutation(len(batches))
            batches = [batches[i] for i in order]
            # Pad to a multiple of world_size (repeating the first batches) so every rank runs equally many steps.
            short = (-len(batches)) % self.world_size
            batches.extend(batches[:short])
            self._plan = batches[self.rank::self.world_size]
        return self._plan

    def __len__(self) -> int:
        n_batches = -(-len(self.indices) // self.batch_size)
        return -(-n_batches // self.world_size)  # upper bound; exact when groups divide evenly

    def batches_per_epoch(self) -> int:
        return len(self._epoch_plan())

    def next_batch(self) -> np.ndarray | None:
        """The next batch of this rank in the current epoch, or None when the epoch is done."""
        plan = self._epoch_plan()
        if self.state.position >= len(plan):
            return None
        batch = plan[self.state.position]
        self.state.position += 1
        return batch

    def state_dict(self) -> dict:
        return {"epoch": self.state.epoch, "position": self.state.position, "seed": self.seed,
                "world_size": self.world_size, "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        if state["world_size"] != self.world_size or state["batch_size"] != self.batch_size:
            raise PocketbertError(
                f"checkpoint was written with world_size={state['world_size']}, batch_size={state['batch_size']}; "
                f"resume with the same (now {self.world_size}, {self.batch_size})"
            )
        self.seed = int(state["seed"])
        self.state = SamplerState(int(state["epoch"]), int(state["position"]))
        self._plan = None
