"""The float64 attention the GPU tests check flashc against."""
import math

import torch


def attention_reference(q, k, v, causal=False, bottom_right=False, scale=None,
                        score_mod=None, mask_mod=None):
    """Output and log-sum-exp in float64 (GQA by repeating k and v; rows
    that see no key give 0 and -inf; the modifiers on index grids, as
    FlexAttention's reference does), differentiable by autograd."""
    group = q.shape[1] // k.shape[1]
    q, k, v = q.double(), k.double(), v.double()
    k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = (q @ k.transpose(-1, -2)) * scale
    (batch, heads, seq_q, _), seq_k = q.shape, k.shape[2]
    bi, hi, qi, ki = (torch.arange(n, device=q.device).view(*shape) for n, shape in
                      ((batch, (-1, 1, 1, 1)), (heads, (1, -1, 1, 1)),
                       (seq_q, (1, 1, -1, 1)), (seq_k, (1, 1, 1, -1))))
    if score_mod is not None:
        s = score_mod(s, bi, hi, qi, ki).double()
    if mask_mod is not None:
        s = s.masked_fill(~mask_mod(bi, hi, qi, ki), -math.inf)
    if causal:
        offset = seq_k - seq_q if bottom_right else 0
        s = s.masked_fill(ki > qi + offset, -math.inf)
    lse = torch.logsumexp(s, -1)
    p = torch.exp(s - lse.unsqueeze(-1)).nan_to_num(0.0)
    return p @ v, lse
