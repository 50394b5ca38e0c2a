"""Progress inside long optimizer steps: a time estimate at start and a line every ~30 s of wall time.

Why: with the paper's recipe on a CPU (effective batch 4000 at batch 5 = 800 micro-batches per optimizer step)
the per-step log line comes hours apart. This says early how long a step and the run will take, then shows
micro-batches, tokens/s and ETAs on a wall-clock cadence: never one line per micro-batch, never `\\r` bars
(the output is often a file or CI log).
"""
from __future__ import annotations

import time

# Seconds of wall time between two progress lines inside an optimizer step (config key progress_every_s).
PROGRESS_EVERY_S = 30.0
# Micro-batches timed before the start-up estimate "one optimizer step ~ X" is printed (the first one is slower).
ESTIMATE_MICRO_BATCHES = 3


def duration(seconds: float) -> str:
    """A short human duration: 42 s, 7.5 min, 3.2 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class StepProgress:
    """Fed once per micro-batch by the training loop; prints through `say` only when a line is due.

    clock is injectable (tests); interval_s <= 0 prints a line after every micro-batch inside a step.
    """

    def __init__(self, accum: int, steps_left: int, say, interval_s: float = PROGRESS_EVERY_S,
                 clock=time.perf_counter, estimate_after: int = ESTIMATE_MICRO_BATCHES) -> None:
        self.accum = accum
        self.steps_left = steps_left  # optimizer steps still to run in this process, the current one included
        self.say = say
        self.interval_s = interval_s
        self.clock = clock
        self.estimate_after = estimate_after
        self.started = clock()
        self.micro_done = 0  # micro-batches finished by this process
        self.last_line = self.started
        self.window_tokens = 0
        self.estimated = False

    def printed(self) -> None:
        """Another line (a step's log row) was just printed: restart the interval so lines do not bunch up."""
        self.last_line = self.clock()
        self.window_tokens = 0

    def micro_batch_done(self, step: int, micro: int, n_tokens: int) -> None:
        """Micro-batch `micro` (0-based) of optimizer step `step` (0-based, this process's step count) is done."""
        now = self.clock()
        self.micro_done += 1
        self.window_tokens += n_tokens
        per_micro = (now - self.started) / self.micro_done
        total_micro = self.steps_left * self.accum
        if not self.estimated and (self.micro_done >= min(self.estimate_after, total_micro)):
            self.estimated = True
            step_s = per_micro * self.accum
            self.say(f"timing: {self.micro_done} micro-batch(es) in {now - self.started:.1f} s -> one optimizer step "
                     f"~ {duration(step_s)}; {self.steps_left} steps ~ {duration(step_s * self.steps_left)}")
        if micro >= self.accum - 1 or now - self.last_line < self.interval_s:
            return  # a step's own log row follows at its end; inside a step only on the wall-clock cadence
        done_in_step = micro + 1
        tps = self.window_tokens / max(now - self.last_line, 1e-9)
        step_eta = per_micro * (self.accum - done_in_step)
        run_eta = per_micro * (total_micro - self.micro_done)
        self.say(f"step {step + 1} micro-batch {done_in_step}/{self.accum}: {tps:.0f} tokens/s, "
                 f"step ETA {duration(step_eta)}, run ETA {duration(run_eta)}")
        self.last_line, self.window_tokens = now, 0
