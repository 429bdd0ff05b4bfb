"""LaneRunner's negotiation agent against negmas's standard agents, over freight scenarios.

Each scenario is one load: a market rate m (a lane's going rate, $1,500-$3,500), the
carrier's minimum drawn around it (m x 0.90-1.02), the broker's maximum (m x 0.96-1.12; a
few scenarios have no zone of agreement), and a deadline of 3-40 rounds. The outcome
space is the rate in $10 steps over [0.7 m, 1.3 m]; each side's utility is linear in the
rate over that space, and its reservation value is the utility of its limit.

Pairings: in each seat (broker, carrier), LaneRunner's agent against each negmas agent
(time-based Boulware, Conceder and Linear, naive tit-for-tat, aspiration), and every
negmas agent in that seat against the same opponents. The negotiation runs in negmas's
SAOMechanism (alternating offers, `n_steps` = the deadline); LaneRunner's agent decides
every move through the bridge (`examples/bridge.rs`), which replays the offers through
LaneRunner's protocol (alternation, offer limit, deadline) before its agent decides. The
agent knows the market as the rate model gives it (estimate m, an 80 % interval of
+-7 %); the negmas agents know their own utility function, as they are designed to.

Reported per seat and agent: agreement rate, mean utility gain over the reservation value
(0 without agreement), mean distance of the agreed rate from the Nash point (the middle of
the zone of agreement), as a share of the outcome range.

usage: tournament.py BRIDGE SCENARIOS SEED OUT.json
"""

import json
import random
import subprocess
import sys

from negmas import make_issue
from negmas.gb.common import ResponseType
from negmas.preferences import LinearAdditiveUtilityFunction as LUFun
from negmas.preferences.value_fun import AffineFun
from negmas.sao import (
    AspirationNegotiator,
    BoulwareTBNegotiator,
    ConcederTBNegotiator,
    LinearTBNegotiator,
    NaiveTitForTatNegotiator,
    SAOMechanism,
    SAONegotiator,
)

STEP = 10  # dollars between rates


class Bridge:
    def __init__(self, path):
        self.proc = subprocess.Popen(
            [path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def ask(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply


class LaneRunnerNegotiator(SAONegotiator):
    """Asks LaneRunner's agent (through the bridge) for every move."""

    def __init__(self, bridge, side, limit, aspiration, market, rounds, grid, **kw):
        super().__init__(**kw)
        self.bridge, self.side, self.rounds, self.grid = bridge, side, rounds, grid
        self.policy = {
            "side": side,
            "aspiration_cents": aspiration * 100,
            "reservation_cents": limit * 100,
            "target_cents": None,
            "approval_beyond_cents": None,
            "concession": 0.4,
        }
        self.market = market
        self.offers = []  # (side, dollars, round), in order
        self.planned = None

    def _decide(self, state):
        req = {
            "policy": self.policy,
            "market": self.market,
            "rounds": self.rounds,
            "round": state.step,
            "offers": [{"by": s, "rate_cents": d * 100, "round": r} for s, d, r in self.offers],
        }
        return self.bridge.ask(req)

    def _on_grid(self, cents):
        dollars = cents / 100
        # Rounded in our favour, then kept inside the outcome space.
        snapped = (dollars // STEP) * STEP if self.side == "broker" else -(-dollars // STEP) * STEP
        return int(min(max(snapped, self.grid[0]), self.grid[-1]))

    def _note(self, side, dollars, step):
        # The protocol alternates: a repeated side (negmas lets a side re-offer after its
        # own offer timed out) keeps only the latest.
        if self.offers and self.offers[-1][0] == side:
            self.offers.pop()
        self.offers.append((side, dollars, step))

    def respond(self, state, source=None):
        offer = state.current_offer
        if offer is None:
            return ResponseType.REJECT_OFFER
        other = "carrier" if self.side == "broker" else "broker"
        self._note(other, int(offer[0]), state.step)
        d = self._decide(state)
        if d["action"] == "accept":
            return ResponseType.ACCEPT_OFFER
        if d["action"] == "reject":
            return ResponseType.END_NEGOTIATION
        if d["action"] == "offer":
            self.planned = self._on_grid(d["rate_cents"])
        return ResponseType.REJECT_OFFER

    def propose(self, state, dest=None):
        if self.planned is None:
            d = self._decide(state)
            if d["action"] != "offer":
                return None
            self.planned = self._on_grid(d["rate_cents"])
        dollars, self.planned = self.planned, None
        self._note(self.side, dollars, state.step)
        return (dollars,)


NEGMAS = {
    "Boulware": BoulwareTBNegotiator,
    "Conceder": ConcederTBNegotiator,
    "Linear": LinearTBNegotiator,
    "NaiveTitForTat": NaiveTitForTatNegotiator,
    "Aspiration": AspirationNegotiator,
}


def scenario(rng):
    m = rng.randrange(150, 351) * 10
    carrier_min = int(m * rng.uniform(0.90, 1.02)) // STEP * STEP
    broker_max = int(m * rng.uniform(0.96, 1.12)) // STEP * STEP
    lo, hi = int(m * 0.7) // STEP * STEP, int(m * 1.3) // STEP * STEP
    return {
        "m": m,
        "carrier_min": carrier_min,
        "broker_max": broker_max,
        "lo": lo,
        "hi": hi,
        "rounds": rng.randrange(3, 41),
    }


def ufun(side, s, issues):
    span = s["hi"] - s["lo"]
    if side == "broker":
        fun = AffineFun(slope=-1 / span, bias=s["hi"] / span)
        reserved = (s["hi"] - s["broker_max"]) / span
    else:
        fun = AffineFun(slope=1 / span, bias=-s["lo"] / span)
        reserved = (s["carrier_min"] - s["lo"]) / span
    return LUFun(values=[fun], weights=[1.0], issues=issues, reserved_value=reserved)


def run_one(s, seat, ours, theirs, bridge):
    """One negotiation: `ours` (a name) in `seat` against `theirs`; the result for `seat`."""
    grid = list(range(s["lo"], s["hi"] + 1, STEP))
    issues = [make_issue(values=grid, name="rate")]
    mech = SAOMechanism(issues=issues, n_steps=s["rounds"])
    other = "carrier" if seat == "broker" else "broker"
    if ours == "LaneRunner":
        limit = s["broker_max"] if seat == "broker" else s["carrier_min"]
        # Opens from the far side of the market's interval, as a pricing desk would.
        aspiration = int(s["m"] * (0.85 if seat == "broker" else 1.15))
        market = {
            "estimate_cents": s["m"] * 100,
            "low_cents": int(s["m"] * 0.93) * 100,
            "high_cents": int(s["m"] * 1.07) * 100,
        }
        if (seat == "broker" and aspiration > limit) or (seat == "carrier" and aspiration < limit):
            aspiration = limit
        me = LaneRunnerNegotiator(bridge, seat, limit, aspiration, market, s["rounds"], grid, name=seat)
    else:
        me = NEGMAS[ours](name=seat)
    them = NEGMAS[theirs](name=other)
    u_me, u_them = ufun(seat, s, issues), ufun(other, s, issues)
    # The carrier opens, as on a load board.
    if seat == "carrier":
        mech.add(me, preferences=u_me)
        mech.add(them, preferences=u_them)
    else:
        mech.add(them, preferences=u_them)
        mech.add(me, preferences=u_me)
    state = mech.run()
    agreement = state.agreement
    zone = s["carrier_min"] <= s["broker_max"]
    if agreement is None:
        return {"agreed": False, "gain": 0.0, "nash_distance": None, "zone": zone}
    rate = agreement[0]
    gain = float(u_me(agreement)) - u_me.reserved_value
    nash = (s["carrier_min"] + s["broker_max"]) / 2 if zone else None
    distance = abs(rate - nash) / (s["hi"] - s["lo"]) if nash is not None else None
    return {"agreed": True, "gain": gain, "nash_distance": distance, "zone": zone}


def summarize(results):
    n = len(results)
    agreed = [r for r in results if r["agreed"]]
    distances = [r["nash_distance"] for r in agreed if r["nash_distance"] is not None]
    return {
        "negotiations": n,
        "agreement_rate": len(agreed) / n,
        "mean_gain": sum(r["gain"] for r in results) / n,
        "mean_nash_distance": sum(distances) / len(distances) if distances else None,
    }


def main():
    bridge_path, count, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = random.Random(seed)
    scenarios = [scenario(rng) for _ in range(count)]
    bridge = Bridge(bridge_path)
    table = {}
    for seat in ("broker", "carrier"):
        for ours in ["LaneRunner", *NEGMAS]:
            results = []
            for s in scenarios:
                for theirs in NEGMAS:
                    results.append(run_one(s, seat, ours, theirs, bridge))
            table[f"{seat}/{ours}"] = summarize(results)
            print(seat, ours, table[f"{seat}/{ours}"], file=sys.stderr, flush=True)
    with open(out, "w") as f:
        json.dump({"scenarios": count, "seed": seed, "results": table}, f, indent=2)


if __name__ == "__main__":
    main()
