"""Distributed runs: join the process group torchrun / accelerate launch set up (nccl on GPU, gloo on CPU).

World size 1 (a plain `pocketbert distill`) needs nothing: `Dist()` is rank 0 of 1 and every collective is skipped.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch


@dataclass
class Dist:
    """This process's place in the run: rank 0 writes files; `enabled` when there is more than one rank."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed() -> Dist:
    """Join the process group when launched by torchrun / accelerate (WORLD_SIZE > 1): nccl on GPU, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")
    return Dist(rank, world, local_rank, device)


def barrier(dist: Dist) -> None:
    """Wait for every rank (no-op for a single process)."""
    if dist.enabled:
        torch.distributed.barrier()
