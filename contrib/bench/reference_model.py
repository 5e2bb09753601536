#!/usr/bin/env python3
"""Plain reference for the kdex-std workload (see README.md here).

Regenerates the seeded stream, runs it through a dictionary-and-list book
with strict price-time priority and prints the counts and fill_hash that
bench_engine must reproduce.  Usage: reference_model.py [N] [SEED]
"""
import sys

M64 = 0xFFFFFFFFFFFFFFFF
MIDDLE, BAND, MAXQ = 100000, 50, 100


def draws(state):
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)


def run(n, seed):
    rnd = draws(seed)
    # levels[side][price] is a FIFO list of [order_id, qty]; side 1 = buy
    levels = {0: {}, 1: {}}
    where = {}              # order id -> (side, price)
    live, index = [], {}    # the live array and each id's place in it
    h = 0xCBF29CE484222325
    fills = fill_qty = rested = 0

    def drop(oid):
        k = index.pop(oid)
        last = live.pop()
        if last != oid:
            live[k] = last
            index[last] = k

    for i in range(n):
        r0, r1, r2 = next(rnd), next(rnd), next(rnd)
        kind = r0 % 100
        side = r1 & 1
        qty = 1 + r2 % MAXQ
        if 60 <= kind < 90:
            if live:
                oid = live[r1 % len(live)]
                s, px = where.pop(oid)
                queue = levels[s][px]
                queue[:] = [e for e in queue if e[0] != oid]
                if not queue:
                    del levels[s][px]
                drop(oid)
            continue
        if kind < 60:
            off = 1 + (r1 >> 1) % BAND
            price = MIDDLE - off if side else MIDDLE + off
        else:
            price = MIDDLE + BAND if side else MIDDLE - BAND
        other = levels[1 - side]
        while qty and other:
            best = min(other) if side else max(other)
            if (side and best > price) or (not side and best < price):
                break
            queue = other[best]
            while qty and queue:
                entry = queue[0]
                f = min(qty, entry[1])
                qty -= f
                entry[1] -= f
                fills += 1
                fill_qty += f
                for v in (i, entry[0], best, f):
                    h = ((h ^ v) * 0x100000001B3) & M64
                if entry[1] == 0:
                    queue.pop(0)
                    where.pop(entry[0])
                    drop(entry[0])
            if not queue:
                del other[best]
        if qty:
            levels[side].setdefault(price, []).append([i, qty])
            where[i] = (side, price)
            index[i] = len(live)
            live.append(i)
            rested += 1
    bids = sum(len(q) for q in levels[1].values())
    asks = sum(len(q) for q in levels[0].values())
    print(f"n={n} fills={fills} fill_qty={fill_qty} rested={rested} "
          f"live_end={len(live)} bids_end={bids} asks_end={asks} "
          f"fill_hash={h:016x}")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 42)
