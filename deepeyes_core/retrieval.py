"""The exact most-similar set by Jaccard similarity, for the retrieval control at log scale.

For each query set: the pool set with the highest Jaccard similarity, the first (lowest index) of
equals. Exact: Jaccard values are ratios of set sizes, compared as float64 quotients; a correctly
rounded quotient of equal ratios is the same float, and two different ratios of sizes below 2**25
differ by more than float64 rounding, so comparing the quotients compares the ratios exactly.
(The former float32 argmax could in theory pick a worse ratio on a rounding tie.)

Tokens are *rare* when at most ``D`` pool sets hold them (document frequency, df), else *common*:

1. Candidates of a query: the pool sets sharing a rare token with it (one sparse product over the
   rare tokens per block of queries); their whole intersection is the rare count plus the common
   count (bitmasks of the common tokens and ``np.bitwise_count``).
2. A pool set that is not a candidate shares common tokens only, so its Jaccard with a query of
   size ``a`` holding ``qc`` common tokens is at most ``m / (a + b - m)``, ``m = min(qc, pc)``,
   over the pool's (size ``b``, common count ``pc``) pairs (the smallest ``b`` of each ``pc``).
   A query is settled when its best candidate's Jaccard is *above* that bound (strictly: an
   earlier non-candidate could tie), or when it has no candidate and the bound is 0.
3. The unsettled queries go through step 1 again with ``D`` four times larger, until ``D``
   reaches the largest df or a pass's candidate work (below) would pass |unsettled| x |pool|;
   what is left then gets the dense search: one sparse product per block of queries against the
   whole pool.

The first ``D``: the largest df whose candidate work (sum of df over the queries' rare tokens,
an upper bound of the candidate pairs) is at most 0.3 x |queries| x |pool|, raised where more
than 1,024 tokens would be common (the bitmask width), then raised to the level of least
estimated cost, candidate work x (1 + 64-bit words of the bitmasks), while the work stays below
|queries| x |pool|: each word costs a pair about what the pair costs without it (measured at
3,000,000 calls, 5,000 x 430,099 sets: 65 common tokens, two words, 14.4 s; one token more made
rare, 33 % more candidates and one word, 12.6 s; the same answers).

Measured on the bench logs (task texts ``Use the anthropic api tool with key "k97" and limit 18.``,
1-5 calls a text, 9-62 shingles; CPU seconds from shingle sets to answers): at 200,000 calls
(6,166 queries, 28,784 pool sets) the first pass (D = 4,231) settles 86 %, the other 840 fall
back to the dense search; 1.5 s against 2.0 s for the former dense search. At 1,000,000 calls
(30,779 x 143,691) the first pass (D = 21,242: 64 shingles common) settles 99.5 %, 155 fall back;
12.4 s against 42.8 s, the same answers. Not far below |queries| x |pool| there: a text of
several calls is most like texts that share only tool and template shingles, so a bound from
common counts settles few queries until most tokens are rare (200,000 calls, D = 220: median
best Jaccard 0.38, median bound 0.55, 7 % settled). Worst case: every pair sharing tokens (50
tokens, 2,000 x 20,000 sets of 10), the first pass settles 3 % and the search costs 1.0 s
against 0.6 s.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

#: Query rows per dense product: a block's float64 result is at most this many cells (8 MB).
_CELLS_PER_BLOCK = 1_000_000
#: Tokens per chunk when the bitmasks are made.
_TOKENS_PER_CHUNK = 1 << 20
#: Candidate pairs per block of queries in step 1 (about 100 bytes each while the block lives).
_PAIRS_PER_BLOCK = 500_000


class _Sets:
    """Sets as token ids in CSR layout (``indptr``, ``indices``) with each set's full size (a
    query's tokens that no pool set has count in its size only)."""

    def __init__(self, sets: Iterable[Iterable[str]], vocabulary: dict[str, int], grow: bool):
        indptr, indices, sizes = array("q", [0]), array("i"), array("q")  # machine ints: 4-8 bytes a token
        for features in sets:
            features = features if isinstance(features, (set, frozenset)) else set(features)
            sizes.append(len(features))
            if grow:
                indices.extend([vocabulary.setdefault(t, len(vocabulary)) for t in features])
            else:
                indices.extend([vocabulary[t] for t in features if t in vocabulary])
            indptr.append(len(indices))
        self.indptr = np.frombuffer(indptr, dtype=np.int64)
        self.indices = np.frombuffer(indices, dtype=np.int32)
        self.sizes = np.frombuffer(sizes, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sizes)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """The set each of the tokens at positions ``start:stop`` of ``indices`` belongs to."""
        positions = np.arange(start, min(stop, len(self.indices)))
        return (np.searchsorted(self.indptr, positions, side="right") - 1).astype(np.int32)

    def matrix(self, keep: np.ndarray | None, columns: int):
        """The sets as a 0/1 CSR matrix, with only the tokens where ``keep`` (by token id) is True."""
        from scipy.sparse import csr_matrix

        indices, indptr = self.indices, self.indptr
        if keep is not None:
            kept = keep[indices]
            indices = indices[kept]
            before = np.zeros(len(kept) + 1, dtype=np.int32)  # kept tokens before each position
            np.cumsum(kept, out=before[1:])
            indptr = before[self.indptr]
            del before, kept
        # Counts in a product are at most a set's size: the narrowest integer that holds the largest.
        data = np.ones(len(indices), dtype=np.min_scalar_type(-int(self.sizes.max(initial=0)) - 1))
        return csr_matrix((data, indices, indptr), shape=(len(self), columns))


def most_similar(queries: Iterable[Iterable[str]], pool: Iterable[Iterable[str]],
                 rare_df: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each query set, the index of the most similar pool set (first of equals; -1 when the
    pool is empty) and their Jaccard similarity (1 for two empty sets), as the module docstring
    describes. ``rare_df`` fixes ``D`` (tests); by default it is chosen from the pool."""
    vocabulary: dict[str, int] = {}
    pool_sets = _Sets(pool, vocabulary, grow=True)
    query_sets = _Sets(queries, vocabulary, grow=False)
    best = np.full(len(query_sets), -1, dtype=np.int64)
    similarity = np.full(len(query_sets), np.nan)
    if len(pool_sets) and len(query_sets):
        df = np.bincount(pool_sets.indices, minlength=len(vocabulary))
        level = _rare_df(df, query_sets, len(pool_sets)) if rare_df is None else rare_df
        todo = np.arange(len(query_sets))
        while len(todo) and (rare_df is not None or _work(df, query_sets, todo, level) <= len(todo) * len(pool_sets)):
            todo = _settle(query_sets, pool_sets, df, df <= level, todo, best, similarity)
            if level >= df.max(initial=0) or rare_df is not None:
                break
            level = max(level, 1) * _STEP
        _dense(query_sets, pool_sets, todo, len(vocabulary), best, similarity)
    return best, similarity


#: Candidate work allowed per query in step 1, as a share of the pool (the dense search's work).
_CANDIDATE_SHARE = 0.3
#: Factor by which ``D`` grows for the queries a pass left unsettled.
_STEP = 4
#: Common tokens at most (bitmask width); more, and ``D`` is raised until there are this few.
_MAX_COMMON = 1024


def _work(df: np.ndarray, queries: _Sets, todo: np.ndarray, level: int) -> int:
    """The candidate work of a pass over ``todo`` at ``D = level`` (sum of df over their rare tokens)."""
    starts = queries.indptr[todo]
    lengths = queries.indptr[todo + 1] - starts
    # The positions of those queries' tokens: each run of ``lengths`` from its start.
    positions = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    token_df = df[queries.indices[positions]]
    return int(token_df[token_df <= level].sum())


def _rare_df(df: np.ndarray, queries: _Sets, pool_size: int) -> int:
    """``D`` as the module docstring says (0: no token is rare)."""
    levels = np.unique(df)
    if not len(levels):
        return 0
    query_df = np.sort(df[queries.indices])
    work = np.concatenate(([0], np.cumsum(query_df)))[np.searchsorted(query_df, levels, side="right")]
    affordable = levels[work <= _CANDIDATE_SHARE * pool_size * len(queries)]
    chosen = int(affordable[-1]) if len(affordable) else 0
    common = len(df) - np.searchsorted(np.sort(df), levels, side="right")
    narrow = levels[common <= _MAX_COMMON]
    first = max(chosen, int(narrow[0]))
    # Each word of the bitmasks costs a candidate pair about what the pair costs without them
    # (measured), so a higher D that saves a word can pay for its extra candidates.
    cost = work * (1 + -(-common // 64))
    allowed = (levels >= first) & (work <= pool_size * len(queries))
    return int(levels[allowed][np.argmin(cost[allowed])]) if allowed.any() else first


def _masks(sets: _Sets, common: np.ndarray, common_id: np.ndarray, words: int) -> tuple[np.ndarray, np.ndarray]:
    """Each set's common tokens as a bitmask (``words`` uint64 per set, one row of the result per
    word, so that a word of many sets is contiguous) and their count; a chunk of tokens at a time,
    so the temporaries stay a few MB."""
    masks = np.zeros((words, len(sets)), dtype=np.uint64)
    counts = np.zeros(len(sets), dtype=np.int64)
    for start in range(0, len(sets.indices), _TOKENS_PER_CHUNK):
        tokens = sets.indices[start:start + _TOKENS_PER_CHUNK]
        held = common[tokens]
        rows, ids = sets.rows(start, start + _TOKENS_PER_CHUNK)[held], common_id[tokens[held]]
        bits = (ids & 63).astype(np.uint64)
        np.left_shift(np.uint64(1), bits, out=bits)
        # A set's tokens are distinct, so adding their bits is or-ing them.
        np.add.at(masks, (ids >> 6, rows), bits)
        counts += np.bincount(rows, minlength=len(sets))
    return masks, counts


def _bound(sizes: np.ndarray, common: np.ndarray, pool_sizes: np.ndarray, pool_common: np.ndarray) -> np.ndarray:
    """For each query, the highest Jaccard a pool set sharing only common tokens with it can have."""
    smallest = np.full(int(pool_common.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, pool_common, pool_sizes)  # per common count, the smallest size bounds highest
    levels = np.flatnonzero(smallest < np.iinfo(np.int64).max)
    kinds, inverse = np.unique(np.stack([sizes, common], axis=1), axis=0, return_inverse=True)
    shared = np.minimum(kinds[:, 1:], levels[None, :])
    union = kinds[:, :1] + smallest[levels][None, :] - shared
    return np.divide(shared, union, out=np.ones(union.shape), where=union > 0).max(axis=1)[inverse.ravel()]


def _settle(queries: _Sets, pool: _Sets, df: np.ndarray, rare: np.ndarray, todo: np.ndarray, best: np.ndarray,
            similarity: np.ndarray) -> np.ndarray:
    """Steps 1 and 2 of the module docstring for the queries ``todo``: fills ``best`` and
    ``similarity`` where settled and returns the others."""
    common = ~rare
    common_id = (np.cumsum(common) - 1).astype(np.int32)
    words = max(1, -(-int(common.sum()) // 64))
    pool_masks, pool_common = _masks(pool, common, common_id, words)
    query_masks, query_common = _masks(queries, common, common_id, words)
    bound = _bound(queries.sizes, query_common, pool.sizes, pool_common)
    rare_queries = queries.matrix(rare, len(df))[todo]
    rare_pool = pool.matrix(rare, len(df)).T.tocsr()
    del pool_common, query_common
    # Blocks of queries by their candidate work (sum of df over rare tokens: at least their pairs).
    entry_rows = np.repeat(np.arange(len(todo)), np.diff(rare_queries.indptr))
    work = np.cumsum(np.bincount(entry_rows, weights=df[rare_queries.indices], minlength=len(todo)))
    per_block = max(1, _PAIRS_PER_BLOCK // words)
    unsettled = np.zeros(len(todo), dtype=bool)
    start = 0
    while start < len(todo):
        done = work[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(work, done + per_block, side="right")))
        product = rare_queries[start:stop] @ rare_pool
        counts = np.diff(product.indptr)
        rows = np.repeat(todo[start:stop], counts)
        columns = product.indices
        shared = product.data.astype(np.int64)
        for query_word, pool_word in zip(query_masks, pool_masks):  # a word at a time: no 2-D gather or sum
            shared += np.bitwise_count(query_word[rows] & pool_word[columns])
        jaccard = shared / (queries.sizes[rows] + pool.sizes[columns] - shared)
        has = counts > 0
        firsts = product.indptr[:-1][has]
        top = np.maximum.reduceat(jaccard, firsts) if len(firsts) else jaccard[:0]
        first = np.minimum.reduceat(np.where(jaccard == np.repeat(top, counts[has]), columns, len(pool)), firsts) \
            if len(firsts) else columns[:0]
        found = todo[start:stop][has]
        sure = top > bound[found]
        best[found[sure]], similarity[found[sure]] = first[sure], top[sure]
        unsettled[start + np.flatnonzero(has)[~sure]] = True
        # No candidate and nothing to share with any pool set: every similarity is 0, the first wins.
        alone = start + np.flatnonzero(~has)
        zero = bound[todo[alone]] == 0
        best[todo[alone[zero]]], similarity[todo[alone[zero]]] = 0, 0.0
        unsettled[alone[~zero]] = True
        start = stop
    return todo[unsettled]


def _dense(queries: _Sets, pool: _Sets, rows: np.ndarray, columns: int, best: np.ndarray,
           similarity: np.ndarray) -> None:
    """Step 3: the exact search of ``rows`` (query indices) against the whole pool."""
    if not len(rows):
        return
    pool_matrix = pool.matrix(None, columns).T.tocsr()
    query_matrix = queries.matrix(None, columns)[rows]
    block = max(1, _CELLS_PER_BLOCK // len(pool))
    for start in range(0, len(rows), block):
        chosen = rows[start:start + block]
        shared = (query_matrix[start:start + block] @ pool_matrix).toarray()
        union = queries.sizes[chosen, None] + pool.sizes[None, :] - shared
        jaccard = np.divide(shared, union, out=np.ones(union.shape), where=union > 0)
        del shared, union
        top = jaccard.argmax(axis=1)  # the first of equals
        best[chosen], similarity[chosen] = top, jaccard[np.arange(len(chosen)), top]
