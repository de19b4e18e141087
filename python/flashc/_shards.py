"""Where a ring attention shard's rows lie in the whole sequence, and the
user's modifiers fed those global positions (flashc.distributed). Without
torch, so that the kernels of such modifiers can be compiled ahead of time
on a machine without it (python/tests/test_ring.py --warm)."""

from . import mods


def placement(rank, world, causal, seq):
    """Where a shard's rows lie in the whole sequence: (chunk, base0,
    base1), shard row j being at base0 + j if j < chunk, else at
    base1 + j - chunk."""
    if causal:
        chunk = seq // 2
        return chunk, rank * chunk, (2 * world - 1 - rank) * chunk
    return seq, rank * seq, 0


def global_modifiers(score_mod, mask_mod, places):
    """The user's modifiers on a step's call, fed global positions: `places`
    is an int32 tensor [8] captured by the kernel (the same kernel for
    every step and rank): for queries, then keys, the call's first shard
    row and the shard's placement (chunk, base0, base1)."""
    def position(index, at):
        # Traced (index is a traced value), a constant index of `places`
        # must be a traced load: torch would index the tensor itself.
        if isinstance(index, mods._Value):
            entry = [mods._load(places, at + n) for n in range(4)]
        else:
            entry = [places[at + n] for n in range(4)]
        first, chunk, base0, base1 = entry
        local = first + index
        return mods.where(local < chunk, base0 + local, base1 + local - chunk)

    def score(s, b, h, i, j):
        return score_mod(s, b, h, position(i, 0), position(j, 4))

    def mask(b, h, i, j):
        return mask_mod(b, h, position(i, 0), position(j, 4))
    return (score if score_mod else None), (mask if mask_mod else None)
