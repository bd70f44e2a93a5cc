"""Compiled (numba) kernels of :mod:`planner.optimize`: row hashing, maximal-covering,
p-median and capacitated greedy / swap kernels, Lagrangian helpers.

All are ``cache=True`` and read only the index ranges their CSR arguments define.
"""

from __future__ import annotations

import logging

import numba as nb
import numpy as np

logger = logging.getLogger(__name__)


@nb.njit(cache=True, inline="always")
def _mix64(x):  # pragma: no cover - compiled
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return x


@nb.njit(cache=True)
def _row_hashes(indptr, indices, data_bits, key_bits):  # pragma: no cover - compiled
    n = indptr.size - 1
    h1 = np.empty(n, np.uint64)
    h2 = np.empty(n, np.uint64)
    has_data = data_bits.size > 0
    has_key = key_bits.size > 0
    for i in range(n):
        a = _mix64(np.uint64(indptr[i + 1] - indptr[i]) + np.uint64(0x9E3779B97F4A7C15))
        b = _mix64(np.uint64(indptr[i + 1] - indptr[i]) ^ np.uint64(0xD1B54A32D192ED03))
        if has_key:
            kb = np.uint64(key_bits[i])
            a = _mix64(a ^ kb)
            b = _mix64(b + kb * np.uint64(0x9E3779B97F4A7C15))
        for k in range(indptr[i], indptr[i + 1]):
            x = np.uint64(indices[k])
            if has_data:
                x = x ^ _mix64(np.uint64(data_bits[k]))
            a = _mix64(a ^ x) + np.uint64(0x632BE59BD9B4E019)
            b = _mix64(b + x * np.uint64(0xFF51AFD7ED558CCD)) ^ np.uint64(0xC4CEB9FE1A85EC53)
        h1[i] = a
        h2[i] = b
    return h1, h2


@nb.njit(cache=True)
def _rows_equal_to_rep(indptr, indices, data_bits, key_bits, group, rep):  # pragma: no cover
    n = indptr.size - 1
    bad = np.zeros(n, np.bool_)
    has_data = data_bits.size > 0
    has_key = key_bits.size > 0
    for i in range(n):
        r = rep[group[i]]
        if r == i:
            continue
        la = indptr[i + 1] - indptr[i]
        if la != indptr[r + 1] - indptr[r] or (has_key and key_bits[i] != key_bits[r]):
            bad[i] = True
            continue
        for q in range(la):
            if indices[indptr[i] + q] != indices[indptr[r] + q]:
                bad[i] = True
                break
            if has_data and data_bits[indptr[i] + q] != data_bits[indptr[r] + q]:
                bad[i] = True
                break
    return bad


# Maximal-covering kernels (also used by multi-tier and set cover)
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _cov_apply_add(c, c_ptr, c_idx, r_ptr, r_idx, val, covered, gain):  # pragma: no cover
    added = 0.0
    for q in range(c_ptr[c], c_ptr[c + 1]):
        i = c_idx[q]
        if not covered[i]:
            covered[i] = True
            v = val[i]
            added += v
            for qq in range(r_ptr[i], r_ptr[i + 1]):
                gain[r_idx[qq]] -= v
    return added


@nb.njit(cache=True)
def _cov_greedy(
    r_ptr,
    r_idx,
    c_ptr,
    c_idx,
    val,
    costs,
    col_label,
    label_limit,
    col_site,
    n_sites,
    budget,
    use_ratio,
    stop_at,
    init_sel,
    tol,
):  # pragma: no cover
    """Greedy maximal covering with incremental gains: O(nnz) updates in total.

    Picks the feasible column with the largest gain (or gain / cost) until no column adds
    weight, every label is full, the budget is spent or the covered value reaches ``stop_at``.
    """
    n_rows = r_ptr.size - 1
    n_cols = c_ptr.size - 1
    covered = np.zeros(n_rows, np.bool_)
    gain = np.zeros(n_cols)
    for j in range(n_cols):
        s = 0.0
        for q in range(c_ptr[j], c_ptr[j + 1]):
            s += val[c_idx[q]]
        gain[j] = s
    is_sel = np.zeros(n_cols, np.bool_)
    site_used = np.zeros(n_sites, np.bool_)
    label_cnt = np.zeros(label_limit.size, np.int64)
    picks = np.empty(n_cols, np.int64)
    n_picks = 0
    spent = 0.0
    obj = 0.0
    for q in range(init_sel.size):
        j = init_sel[q]
        is_sel[j] = True
        site_used[col_site[j]] = True
        label_cnt[col_label[j]] += 1
        spent += costs[j]
        picks[n_picks] = j
        n_picks += 1
        obj += _cov_apply_add(j, c_ptr, c_idx, r_ptr, r_idx, val, covered, gain)
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    while obj < stop_at:
        best = -1
        best_score = 0.0
        best_gain = 0.0
        for j in range(n_cols):
            g = gain[j]
            if g <= tol or is_sel[j] or site_used[col_site[j]]:
                continue
            lab = col_label[j]
            if label_cnt[lab] >= label_limit[lab]:
                continue
            if spent + costs[j] > budget_tol:
                continue
            if use_ratio:
                score = g / costs[j] if costs[j] > 0 else g * 1e300
            else:
                score = g
            if score > best_score or (score == best_score and g > best_gain):
                best = j
                best_score = score
                best_gain = g
        if best < 0:
            break
        is_sel[best] = True
        site_used[col_site[best]] = True
        label_cnt[col_label[best]] += 1
        spent += costs[best]
        picks[n_picks] = best
        n_picks += 1
        obj += _cov_apply_add(best, c_ptr, c_idx, r_ptr, r_idx, val, covered, gain)
    return picks[:n_picks].copy(), obj


@nb.njit(cache=True)
def _cov_state(r_ptr, r_idx, is_sel, val, n_cols):  # pragma: no cover - compiled
    """Per row: number of selected covering columns and the sum of their ids (the owner when
    the count is 1); per column: weight it covers alone (``loss``); covered value."""
    n_rows = r_ptr.size - 1
    cnt = np.zeros(n_rows, np.int64)
    osum = np.zeros(n_rows, np.int64)
    loss = np.zeros(n_cols)
    obj = 0.0
    for i in range(n_rows):
        for q in range(r_ptr[i], r_ptr[i + 1]):
            j = r_idx[q]
            if is_sel[j]:
                cnt[i] += 1
                osum[i] += j
        if cnt[i] > 0:
            obj += val[i]
            if cnt[i] == 1:
                loss[osum[i]] += val[i]
    return cnt, osum, loss, obj


@nb.njit(cache=True)
def _cov_remove(k, c_ptr, c_idx, val, cnt, osum, loss):  # pragma: no cover - compiled
    lost = 0.0
    for q in range(c_ptr[k], c_ptr[k + 1]):
        i = c_idx[q]
        old = cnt[i]
        cnt[i] = old - 1
        osum[i] -= k
        if old == 1:
            lost += val[i]
        elif old == 2:
            loss[osum[i]] += val[i]
    loss[k] = 0.0
    return lost


@nb.njit(cache=True)
def _cov_add(c, c_ptr, c_idx, val, cnt, osum, loss):  # pragma: no cover - compiled
    added = 0.0
    for q in range(c_ptr[c], c_ptr[c + 1]):
        i = c_idx[q]
        old = cnt[i]
        if old == 0:
            loss[c] += val[i]
            added += val[i]
        elif old == 1:
            loss[osum[i]] -= val[i]
        cnt[i] = old + 1
        osum[i] += c
    return added


@nb.njit(cache=True)
def _cov_best_move(
    c,
    g,
    n_sel,
    sel_list,
    costs,
    col_label,
    label_limit,
    col_site,
    site_used,
    label_cnt,
    spent,
    budget_tol,
    extra,
    loss,
    tol,
):  # pragma: no cover - compiled
    """Best move adding column ``c`` (gain ``g``): the selected column to drop for it, -1 to add
    it without a drop, -2 if no feasible move improves by more than ``tol``."""
    lab = col_label[c]
    best_k = -2
    best_delta = tol
    if (
        g > tol
        and not site_used[col_site[c]]
        and label_cnt[lab] < label_limit[lab]
        and spent + costs[c] <= budget_tol
    ):
        best_k = -1
        best_delta = g
    for s in range(n_sel):
        k = sel_list[s]
        if site_used[col_site[c]] and col_site[c] != col_site[k]:
            continue
        lc = label_cnt[lab]
        if col_label[k] == lab:
            lc -= 1
        if lc >= label_limit[lab]:
            continue
        if spent - costs[k] + costs[c] > budget_tol:
            continue
        d = g + extra[k] - loss[k]
        if d > best_delta:
            best_delta = d
            best_k = k
    return best_k


@nb.njit(cache=True)
def _cov_swap_chunk(
    c_ptr,
    c_idx,
    val,
    costs,
    col_label,
    label_limit,
    col_site,
    budget,
    order,
    start,
    stop,
    is_sel,
    sel_list,
    istate,
    fstate,
    cnt,
    osum,
    loss,
    site_used,
    label_cnt,
    extra,
    tol,
):  # pragma: no cover - compiled
    """1-swap (and add) local search for maximal covering over ``order[start:stop]``.

    For each candidate ``c`` not selected, the best partner ``k`` to drop is found in
    O(|col c| + p): gain(c) + extra(c, k) - loss(k), where extra(c, k) is the weight covered only
    by ``k`` that ``c`` would also cover. The best improving move for ``c`` is applied at once
    (first improvement over candidates). ``istate = [n_sel]``, ``fstate = [spent, obj]``.
    Returns the position after the last improving move, or -1.
    """
    last = -1
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    for pos in range(start, stop):
        c = order[pos]
        if is_sel[c]:
            continue
        g = 0.0
        for q in range(c_ptr[c], c_ptr[c + 1]):
            i = c_idx[q]
            if cnt[i] == 0:
                g += val[i]
            elif cnt[i] == 1:
                extra[osum[i]] += val[i]
        n_sel = istate[0]
        lab = col_label[c]
        best_k = _cov_best_move(
            c,
            g,
            n_sel,
            sel_list,
            costs,
            col_label,
            label_limit,
            col_site,
            site_used,
            label_cnt,
            fstate[0],
            budget_tol,
            extra,
            loss,
            tol,
        )
        for q in range(c_ptr[c], c_ptr[c + 1]):
            i = c_idx[q]
            if cnt[i] == 1:
                extra[osum[i]] = 0.0
        if best_k == -2:
            continue
        if best_k >= 0:
            k = best_k
            fstate[1] -= _cov_remove(k, c_ptr, c_idx, val, cnt, osum, loss)
            is_sel[k] = False
            site_used[col_site[k]] = False
            label_cnt[col_label[k]] -= 1
            fstate[0] -= costs[k]
            for s in range(n_sel):
                if sel_list[s] == k:
                    sel_list[s] = sel_list[n_sel - 1]
                    break
            n_sel -= 1
        fstate[1] += _cov_add(c, c_ptr, c_idx, val, cnt, osum, loss)
        is_sel[c] = True
        site_used[col_site[c]] = True
        label_cnt[lab] += 1
        fstate[0] += costs[c]
        sel_list[n_sel] = c
        istate[0] = n_sel + 1
        last = pos + 1
    return last


@nb.njit(cache=True)
def _drop_redundant(c_ptr, c_idx, val, cnt, sel_desc, need, obj, tol):  # pragma: no cover
    """Drop selected columns (most expensive first) while the covered value stays >= need."""
    keep = np.ones(sel_desc.size, np.bool_)
    for s in range(sel_desc.size):
        k = sel_desc[s]
        excl = 0.0
        for q in range(c_ptr[k], c_ptr[k + 1]):
            if cnt[c_idx[q]] == 1:
                excl += val[c_idx[q]]
        if obj - excl >= need - tol:
            keep[s] = False
            obj -= excl
            for q in range(c_ptr[k], c_ptr[k + 1]):
                cnt[c_idx[q]] -= 1
    return keep, obj


@nb.njit(cache=True)
def _evaluate_kernel(r_ptr, r_idx, w, active, rank, n_sel):  # pragma: no cover - compiled
    alone = np.zeros(n_sel)
    marginal = np.zeros(n_sel)
    exclusive = np.zeros(n_sel)
    total = 0.0
    for i in range(r_ptr.size - 1):
        if not active[i]:
            continue
        cnt = 0
        first = n_sel
        owner = -1
        for q in range(r_ptr[i], r_ptr[i + 1]):
            s = rank[r_idx[q]]
            if s >= 0:
                cnt += 1
                alone[s] += w[i]
                owner = s
                if s < first:
                    first = s
        if cnt > 0:
            total += w[i]
            marginal[first] += w[i]
            if cnt == 1:
                exclusive[owner] += w[i]
    return alone, marginal, exclusive, total


# --------------------------------------------------------------------------------------------
# p-median kernels
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _pm_gain(j, c_ptr, c_idx, c_t, w, d1):  # pragma: no cover - compiled
    g = 0.0
    for q in range(c_ptr[j], c_ptr[j + 1]):
        i = c_idx[q]
        t = c_t[q]
        if t < d1[i]:
            g += w[i] * (d1[i] - t)
    return g


@nb.njit(cache=True)
def _pm_greedy(c_ptr, c_idx, c_t, w, base, p, tol):  # pragma: no cover - compiled
    """Lazy greedy for p-median: savings are submodular, so stale gains are upper bounds."""
    n_cols = c_ptr.size - 1
    d1 = base.copy()
    stale = np.empty(n_cols)
    for j in range(n_cols):
        stale[j] = _pm_gain(j, c_ptr, c_idx, c_t, w, d1)
    is_sel = np.zeros(n_cols, np.bool_)
    picks = np.empty(p, np.int64)
    n = 0
    while n < p:
        chosen = -1
        while True:
            j = -1
            bv = tol
            for k in range(n_cols):
                if not is_sel[k] and stale[k] > bv:
                    bv = stale[k]
                    j = k
            if j < 0:
                break
            g = _pm_gain(j, c_ptr, c_idx, c_t, w, d1)
            stale[j] = g
            ok = True
            for k in range(n_cols):
                if k != j and not is_sel[k] and stale[k] > g:
                    ok = False
                    break
            if ok:
                if g > tol:
                    chosen = j
                break
        if chosen < 0:
            break
        is_sel[chosen] = True
        picks[n] = chosen
        n += 1
        for q in range(c_ptr[chosen], c_ptr[chosen + 1]):
            i = c_idx[q]
            if c_t[q] < d1[i]:
                d1[i] = c_t[q]
    return picks[:n].copy()


@nb.njit(cache=True)
def _pm_row(i, r_ptr, r_idx, r_t, is_sel, base):  # pragma: no cover - compiled
    """Best and second-best option of row i; option -1 is the base (existing or penalty)."""
    d1 = base[i]
    f1 = -1
    d2 = base[i]
    f2 = -1
    for q in range(r_ptr[i], r_ptr[i + 1]):
        j = r_idx[q]
        if not is_sel[j]:
            continue
        t = r_t[q]
        if t < d1:
            d2 = d1
            f2 = f1
            d1 = t
            f1 = j
        elif t < d2:
            d2 = t
            f2 = j
    return d1, f1, d2, f2


@nb.njit(cache=True)
def _pm_state(r_ptr, r_idx, r_t, is_sel, base, w, n_cols):  # pragma: no cover - compiled
    n = r_ptr.size - 1
    d1 = np.empty(n)
    d2 = np.empty(n)
    f1 = np.empty(n, np.int64)
    f2 = np.empty(n, np.int64)
    loss = np.zeros(n_cols)
    obj = 0.0
    for i in range(n):
        a, b, c, d = _pm_row(i, r_ptr, r_idx, r_t, is_sel, base)
        d1[i] = a
        f1[i] = b
        d2[i] = c
        f2[i] = d
        obj += w[i] * a
        if b >= 0:
            loss[b] += w[i] * (c - a)
    return d1, f1, d2, f2, loss, obj


@nb.njit(cache=True)
def _pm_refresh(
    col, c_ptr, c_idx, r_ptr, r_idx, r_t, is_sel, base, w, d1, f1, d2, f2, loss, stamp, mark
):  # pragma: no cover - compiled
    delta = 0.0
    for q in range(c_ptr[col], c_ptr[col + 1]):
        i = c_idx[q]
        if stamp[i] == mark:
            continue
        stamp[i] = mark
        if f1[i] >= 0:
            loss[f1[i]] -= w[i] * (d2[i] - d1[i])
        a, b, c, d = _pm_row(i, r_ptr, r_idx, r_t, is_sel, base)
        delta += w[i] * (a - d1[i])
        d1[i] = a
        f1[i] = b
        d2[i] = c
        f2[i] = d
        if b >= 0:
            loss[b] += w[i] * (c - a)
    return delta


@nb.njit(cache=True)
def _pm_best_move(g, n_sel, p, sel_list, loss, extra, tol):  # pragma: no cover - compiled
    """Best p-median move for a candidate of gain ``g``: the selected site to drop for it, -1 to
    add it (fewer than ``p`` open), -2 if no move improves by more than ``tol``."""
    best_k = -2
    best = tol
    if n_sel < p and g > tol:
        best_k = -1
        best = g
    for s in range(n_sel):
        k = sel_list[s]
        d = g - loss[k] + extra[k]
        if d > best:
            best = d
            best_k = k
    return best_k


@nb.njit(cache=True)
def _pm_swap_chunk(
    c_ptr,
    c_idx,
    c_t,
    r_ptr,
    r_idx,
    r_t,
    w,
    base,
    p,
    order,
    start,
    stop,
    is_sel,
    sel_list,
    istate,
    fstate,
    d1,
    f1,
    d2,
    f2,
    loss,
    extra,
    stamp,
    tol,
):  # pragma: no cover - compiled
    """Fast interchange (Whitaker / Resende-Werneck) for p-median over ``order[start:stop]``.

    profit(c, k) = gain(c) - loss(k) + extra(c, k), with
    extra(c, k) = sum over rows served by k with t_ic < d2 of w (d2 - max(t_ic, d1)).
    ``istate = [n_sel, mark]``, ``fstate = [objective (sum of w * time)]``.
    """
    last = -1
    for pos in range(start, stop):
        c = order[pos]
        if is_sel[c]:
            continue
        g = 0.0
        for q in range(c_ptr[c], c_ptr[c + 1]):
            i = c_idx[q]
            t = c_t[q]
            if t < d1[i]:
                g += w[i] * (d1[i] - t)
            f = f1[i]
            if f >= 0 and t < d2[i]:
                extra[f] += w[i] * (d2[i] - max(t, d1[i]))
        n_sel = istate[0]
        best_k = _pm_best_move(g, n_sel, p, sel_list, loss, extra, tol)
        for q in range(c_ptr[c], c_ptr[c + 1]):
            f = f1[c_idx[q]]
            if f >= 0:
                extra[f] = 0.0
        if best_k == -2:
            continue
        is_sel[c] = True
        if best_k >= 0:
            is_sel[best_k] = False
            for s in range(n_sel):
                if sel_list[s] == best_k:
                    sel_list[s] = c
                    break
        else:
            sel_list[n_sel] = c
            istate[0] = n_sel + 1
        istate[1] += 1
        mark = istate[1]
        d = _pm_refresh(
            c, c_ptr, c_idx, r_ptr, r_idx, r_t, is_sel, base, w, d1, f1, d2, f2, loss, stamp, mark
        )
        if best_k >= 0:
            d += _pm_refresh(
                best_k,
                c_ptr,
                c_idx,
                r_ptr,
                r_idx,
                r_t,
                is_sel,
                base,
                w,
                d1,
                f1,
                d2,
                f2,
                loss,
                stamp,
                mark,
            )
        fstate[0] += d
        last = pos + 1
    return last


@nb.njit(cache=True)
def _pm_lagr_step(c_ptr, c_idx, c_a, lam, p, counts):  # pragma: no cover - compiled
    """Lagrangian of the p-median savings problem with the assignment rows relaxed.

    L(lam) = sum_i lam_i + (sum of the p largest v_j), v_j = sum_i max(0, a_ij - lam_i),
    a_ij = w_i (b_i - t_ij). Returns L and fills ``counts`` with, per row, the number of chosen
    columns with a_ij > lam_i (for the subgradient 1 - counts).
    """
    n_cols = c_ptr.size - 1
    v = np.zeros(n_cols)
    for j in range(n_cols):
        s = 0.0
        for q in range(c_ptr[j], c_ptr[j + 1]):
            d = c_a[q] - lam[c_idx[q]]
            if d > 0.0:
                s += d
        v[j] = s
    k = min(p, n_cols)
    order = np.argsort(-v)[:k]
    total = lam.sum()
    counts[:] = 0
    for jj in range(k):
        j = order[jj]
        if v[j] <= 0.0:
            continue
        total += v[j]
        for q in range(c_ptr[j], c_ptr[j + 1]):
            if c_a[q] > lam[c_idx[q]]:
                counts[c_idx[q]] += 1
    return total


# --------------------------------------------------------------------------------------------
# Capacitated kernels (maximal covering and p-median share them)
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads):  # pragma: no cover - compiled
    """Assign demand to selected sites along the pairs in their given order (nearest first),
    each pair taking what both the demand unit and the site's spare capacity allow; a demand
    unit may be split. Returns the total benefit; fills ``loads``."""
    resid = w.copy()
    loads[:] = 0.0
    value = 0.0
    for q in range(pr_row.size):
        j = pr_col[q]
        if not is_sel[j]:
            continue
        i = pr_row[q]
        a = min(resid[i], caps[j] - loads[j])
        if a <= 0.0:
            continue
        resid[i] -= a
        loads[j] += a
        value += a * pr_ben[q]
    return value


@nb.njit(cache=True)
def _cap_greedy(
    pr_row, pr_col, pr_ben, w, caps, costs, budget, p, ub_gain, tol
):  # pragma: no cover
    """Lazy greedy on the capacitated assignment value (gains re-evaluated on demand)."""
    n_cols = ub_gain.size
    is_sel = np.zeros(n_cols, np.bool_)
    loads = np.zeros(n_cols)
    stale = ub_gain.copy()
    picks = np.empty(n_cols, np.int64)
    n = 0
    cur = 0.0
    spent = 0.0
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    while n < p:
        chosen = -1
        chosen_v = cur
        while True:
            j = -1
            bv = tol
            for k in range(n_cols):
                if not is_sel[k] and stale[k] > bv and spent + costs[k] <= budget_tol:
                    bv = stale[k]
                    j = k
            if j < 0:
                break
            is_sel[j] = True
            v = _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads)
            is_sel[j] = False
            g = v - cur
            stale[j] = g
            ok = True
            for k in range(n_cols):
                if k != j and not is_sel[k] and stale[k] > g and spent + costs[k] <= budget_tol:
                    ok = False
                    break
            if ok:
                if g > tol:
                    chosen = j
                    chosen_v = v
                break
        if chosen < 0:
            break
        is_sel[chosen] = True
        spent += costs[chosen]
        picks[n] = chosen
        n += 1
        cur = chosen_v
    return picks[:n].copy(), cur


@nb.njit(cache=True)
def _cap_swap_chunk(
    pr_row,
    pr_col,
    pr_ben,
    w,
    caps,
    costs,
    budget,
    p,
    order,
    start,
    stop,
    is_sel,
    sel_list,
    istate,
    fstate,
    loads,
    tol,
):  # pragma: no cover
    """First-improvement add / 1-swap on the capacitated assignment value.
    ``istate = [n_sel]``, ``fstate = [value, spent]``."""
    last = -1
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    for pos in range(start, stop):
        c = order[pos]
        if is_sel[c]:
            continue
        n_sel = istate[0]
        cur = fstate[0]
        spent = fstate[1]
        is_sel[c] = True
        done = False
        if n_sel < p and spent + costs[c] <= budget_tol:
            v = _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads)
            if v > cur + tol:
                sel_list[n_sel] = c
                istate[0] = n_sel + 1
                fstate[0] = v
                fstate[1] = spent + costs[c]
                done = True
        if not done:
            for s in range(n_sel):
                k = sel_list[s]
                if spent - costs[k] + costs[c] > budget_tol:
                    continue
                is_sel[k] = False
                v = _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads)
                if v > cur + tol:
                    sel_list[s] = c
                    fstate[0] = v
                    fstate[1] = spent - costs[k] + costs[c]
                    done = True
                    break
                is_sel[k] = True
        if done:
            last = pos + 1
        else:
            is_sel[c] = False
    return last


# --------------------------------------------------------------------------------------------
@nb.njit(cache=True)
def _col_sums(c_ptr, c_idx, lam):  # pragma: no cover - compiled
    n_cols = c_ptr.size - 1
    r = np.zeros(n_cols)
    for j in range(n_cols):
        s = 0.0
        for q in range(c_ptr[j], c_ptr[j + 1]):
            s += lam[c_idx[q]]
        r[j] = s
    return r


@nb.njit(cache=True)
def _row_hits(c_ptr, c_idx, cols, vals, n_rows):  # pragma: no cover - compiled
    out = np.zeros(n_rows)
    for k in range(cols.size):
        j = cols[k]
        for q in range(c_ptr[j], c_ptr[j + 1]):
            out[c_idx[q]] += vals[k]
    return out
